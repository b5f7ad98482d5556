//! Code objects and builtins to compact ids, once per object.
//!
//! The cache keeps a strong reference to every code object it has seen so
//! that an address can never be reused by another code object while the
//! process runs.  Names and file names go into the core's shared tables;
//! source lines are read (through `linecache`, as the original did) only the
//! first time a line monitor meets a code object.

use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::Arc;

use pikos_core::tables::{rstrip_python, tables};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyString};
use pyo3::{ffi, intern};
use rustc_hash::FxHashMap;

use crate::gil_cell::GilCell;

// `co_flags` of code whose frames can be suspended.
const CO_GENERATOR: u32 = 0x20;
const CO_COROUTINE: u32 = 0x80;
const CO_ASYNC_GENERATOR: u32 = 0x200;

#[derive(Clone, Copy, Debug)]
pub struct CodeSlot {
    /// Table id of the code without source lines (function monitors).
    pub plain: u32,
    /// Table id with source lines, made the first time a line monitor asks.
    pub with_lines: Option<u32>,
    /// Name id of `co_name`.
    pub name: u32,
    /// The code belongs to pikos itself: its events are never recorded.
    pub own: bool,
    /// A generator, coroutine or async generator: its frame can be
    /// suspended (a `return` event may be a `yield`).
    pub generator: bool,
    /// The line of each code unit (see [`CodeSlot::line_of`]): the address
    /// and length of a table in `CodeCache::line_tables`, which lives as
    /// long as the process (the cache keeps its code objects too).
    lines_at: usize,
    lines_len: usize,
}

impl CodeSlot {
    /// The line of code unit `unit`, if the table has it (-1: no line).
    #[inline]
    fn unit_line(&self, unit: usize) -> Option<i32> {
        // SAFETY: `lines_at` points to `lines_len` i32s that are never
        // freed or moved (a boxed slice kept by the cache).
        (unit < self.lines_len).then(|| unsafe { *(self.lines_at as *const i32).add(unit) })
    }

    /// The line of the code unit at byte `offset` (as `sys.monitoring`
    /// passes it), -1 for none or out of range.
    #[inline]
    #[cfg_attr(not(Py_3_12), allow(dead_code))]
    pub fn line_at(&self, offset: isize) -> i32 {
        usize::try_from(offset)
            .ok()
            .and_then(|offset| self.unit_line(offset / 2))
            .unwrap_or(-1)
    }

    /// The line `frame` (running this slot's code) is at, as
    /// `PyFrame_GetLineNumber` gives it outside line events: read from the
    /// table by the frame's last instruction, where 3.12+ would scan the
    /// code's line table from its start on every call (perf: a quarter of
    /// a function monitor's time on 3.12).
    ///
    /// # Safety
    /// GIL held; `frame` valid and running this slot's code.
    #[inline]
    pub unsafe fn line_of(&self, frame: *mut ffi::PyFrameObject) -> i32 {
        // SAFETY: valid frame (caller).
        let lasti = unsafe { ffi::PyFrame_GetLasti(frame) };
        let line = usize::try_from(lasti)
            .ok()
            .and_then(|lasti| self.unit_line(lasti / 2));
        // Before the first instruction, or past the table: ask CPython.
        // SAFETY: valid frame (caller).
        line.unwrap_or_else(|| unsafe { ffi::PyFrame_GetLineNumber(frame) })
    }
}

/// The line of each code unit of `code`, from `co_lines()` (-1: none).
fn line_table(py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<Box<[i32]>> {
    let units = code.getattr(intern!(py, "co_code"))?.len()? / 2;
    let mut table = vec![-1; units];
    for item in code.call_method0(intern!(py, "co_lines"))?.try_iter()? {
        let (start, end, line): (usize, usize, Option<i32>) = item?.extract()?;
        let end = (end / 2).min(units);
        if let Some(range) = table.get_mut(start / 2..end) {
            range.fill(line.unwrap_or(-1));
        }
    }
    Ok(table.into_boxed_slice())
}

struct CodeCache {
    slots: FxHashMap<usize, (CodeSlot, Py<PyAny>)>,
    /// Per code object, the tables `CodeSlot::line_of` reads; never removed.
    line_tables: FxHashMap<usize, Box<[i32]>>,
    last: Option<(usize, CodeSlot)>,
    names: HashMap<String, u32>,
    builtins: FxHashMap<usize, u32>,
    /// `builtin_label`'s, by method definition.
    labels: FxHashMap<usize, u32>,
    sources: HashMap<String, Option<Arc<[Box<str>]>>>,
    own_prefix: Option<String>,
}

static CACHE: GilCell<Option<CodeCache>> = GilCell::new(None);

fn cache(py: Python<'_>) -> &mut CodeCache {
    // SAFETY: GIL held (token); callers below take care not to call into
    // Python while holding this borrow.
    let cell = unsafe { CACHE.get_mut(py) };
    cell.get_or_insert_with(|| CodeCache {
        slots: FxHashMap::default(),
        line_tables: FxHashMap::default(),
        last: None,
        names: HashMap::new(),
        builtins: FxHashMap::default(),
        labels: FxHashMap::default(),
        sources: HashMap::new(),
        own_prefix: None,
    })
}

/// Files under this directory are pikos' own (set once at import).
pub fn set_own_prefix(py: Python<'_>, prefix: String) {
    cache(py).own_prefix = Some(prefix);
}

fn intern_name(py: Python<'_>, name: &str) -> u32 {
    let names = &mut cache(py).names;
    if let Some(id) = names.get(name) {
        return *id;
    }
    let id = tables()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .add_name(Arc::from(name));
    names.insert(name.to_owned(), id);
    id
}

/// Text of a Python str; strings that are not valid UTF-8 (lone surrogates)
/// are written with backslash escapes rather than failing.
pub fn text_of(s: &Bound<'_, PyAny>) -> String {
    match s.cast::<PyString>() {
        Ok(s) => match s.to_str() {
            Ok(text) => text.to_owned(),
            Err(_) => {
                let text = s
                    .call_method1(intern!(s.py(), "encode"), ("utf-8", "backslashreplace"))
                    .and_then(|b| b.extract::<Vec<u8>>())
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                remember_original(s.as_any(), &text);
                text
            }
        },
        Err(_) => s.str().map(|s| text_of(s.as_any())).unwrap_or_default(),
    }
}

/// The slot of the frame's code.  `lines` asks for the source lines too.
///
/// # Safety
/// GIL held; `code` is a valid borrowed pointer; `frame` is the frame
/// running it, or null when the code's frame is the current one.
#[inline]
pub unsafe fn lookup(
    py: Python<'_>,
    code: *mut ffi::PyCodeObject,
    frame: *mut ffi::PyFrameObject,
    lines: bool,
) -> PyResult<CodeSlot> {
    let key = code as usize;
    {
        let c = cache(py);
        if let Some((k, slot)) = c.last {
            if k == key && (!lines || slot.with_lines.is_some()) {
                return Ok(slot);
            }
        }
        if let Some((slot, _)) = c.slots.get(&key) {
            if !lines || slot.with_lines.is_some() {
                let slot = *slot;
                c.last = Some((key, slot));
                return Ok(slot);
            }
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { lookup_slow(py, code, frame, lines) }
}

#[cold]
unsafe fn lookup_slow(
    py: Python<'_>,
    code: *mut ffi::PyCodeObject,
    frame: *mut ffi::PyFrameObject,
    lines: bool,
) -> PyResult<CodeSlot> {
    let key = code as usize;
    // SAFETY: `code` is a valid borrowed reference (caller).
    let code_obj = unsafe { Bound::from_borrowed_ptr(py, code as *mut ffi::PyObject) };
    let existing = cache(py).slots.get(&key).map(|(slot, _)| *slot);
    let mut slot = match existing {
        Some(slot) => slot,
        None => {
            let name = text_of(&code_obj.getattr(intern!(py, "co_name"))?);
            let filename = text_of(&code_obj.getattr(intern!(py, "co_filename"))?);
            let own = cache(py)
                .own_prefix
                .as_deref()
                .is_some_and(|prefix| filename.starts_with(prefix));
            let first_line: i32 = code_obj.getattr(intern!(py, "co_firstlineno"))?.extract()?;
            let flags: u32 = code_obj.getattr(intern!(py, "co_flags"))?.extract()?;
            let name = intern_name(py, &name);
            let lines = line_table(py, &code_obj)?;
            let stored = cache(py).line_tables.entry(key).or_insert(lines);
            let (lines_at, lines_len) = (stored.as_ptr() as usize, stored.len());
            let plain = tables()
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .add_code(pikos_core::CodeEntry {
                    filename: Arc::from(filename.as_str()),
                    first_line,
                    lines: None,
                });
            CodeSlot {
                plain,
                with_lines: None,
                name,
                own,
                generator: flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR) != 0,
                lines_at,
                lines_len,
            }
        }
    };
    if lines && slot.with_lines.is_none() {
        // The name as Python has it (a lone surrogate stands for a byte of
        // a file name that is not UTF-8): linecache opens the file by it.
        let filename_obj = code_obj.getattr(intern!(py, "co_filename"))?;
        let filename = text_of(&filename_obj);
        let first_line: i32 = code_obj.getattr(intern!(py, "co_firstlineno"))?.extract()?;
        let source = match cache(py).sources.get(&filename) {
            Some(source) => source.clone(),
            None => {
                // Without a frame (sys.monitoring callbacks), the running
                // frame is the code's: ask for it here, once per code.
                // SAFETY: GIL held; `frame` is valid or null (caller);
                // PyEval_GetFrame is borrowed, PyFrame_GetGlobals new.
                let globals = unsafe {
                    let frame = if frame.is_null() {
                        ffi::PyEval_GetFrame()
                    } else {
                        frame
                    };
                    if frame.is_null() {
                        None
                    } else {
                        Bound::from_owned_ptr_or_opt(py, ffi::PyFrame_GetGlobals(frame))
                    }
                };
                let source = read_source(py, &filename_obj, globals)?;
                cache(py).sources.insert(filename.clone(), source.clone());
                source
            }
        };
        let id = tables()
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .add_code(pikos_core::CodeEntry {
                filename: Arc::from(filename.as_str()),
                first_line,
                lines: source,
            });
        slot.with_lines = Some(id);
    }
    let c = cache(py);
    c.slots.insert(key, (slot, code_obj.unbind()));
    c.last = Some((key, slot));
    Ok(slot)
}

/// Strings that are not UTF-8 (lone surrogates: bytes of a file name that
/// is not UTF-8, `surrogateescape`d), by the escaped text pikos stores and
/// writes for them: records made for Python get the original back.  Rare,
/// and small: a list.
static ORIGINALS: GilCell<Vec<(String, Py<PyAny>)>> = GilCell::new(Vec::new());

fn remember_original(original: &Bound<'_, PyAny>, text: &str) {
    let py = original.py();
    // SAFETY: GIL held; no call into Python while borrowed.
    let originals = unsafe { ORIGINALS.get_mut(py) };
    if !originals.iter().any(|(known, _)| known == text) {
        originals.push((text.to_owned(), original.clone().unbind()));
    }
}

/// The Python string a stored text came from, when it was not UTF-8.
pub fn original_of(py: Python<'_>, text: &str) -> Option<Py<PyAny>> {
    // SAFETY: GIL held; no call into Python while borrowed.
    let originals = unsafe { ORIGINALS.get_mut(py) };
    if originals.is_empty() {
        return None;
    }
    originals
        .iter()
        .find(|(known, _)| known == text)
        .map(|(_, original)| original.clone_ref(py))
}

/// `linecache.getlines`, looked up once.  An import from inside the hook
/// would go through the running frame's `__builtins__`, which code run with
/// `exec(src, {"__builtins__": {}})` (or `namedtuple`'s) does not have.
static GETLINES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Looks up `linecache.getlines` (called at import, with normal builtins).
pub fn init(py: Python<'_>) -> PyResult<()> {
    GETLINES.import(py, "linecache", "getlines").map(|_| ())
}

/// `linecache.getlines(filename, module_globals)`, right-stripped.
fn read_source(
    py: Python<'_>,
    filename: &Bound<'_, PyAny>,
    globals: Option<Bound<'_, PyAny>>,
) -> PyResult<Option<Arc<[Box<str>]>>> {
    let getlines = GETLINES.import(py, "linecache", "getlines")?;
    let lines = getlines.call1((filename, globals))?;
    let lines = lines.cast::<PyList>()?;
    if lines.is_empty() {
        return Ok(None);
    }
    let lines: Vec<Box<str>> = lines
        .iter()
        .map(|l| Box::from(rstrip_python(&text_of(&l))))
        .collect();
    Ok(Some(lines.into()))
}

/// Name id of a builtin's label as `cProfile` writes it (what `pstats`
/// keys builtins by): `<built-in method time.sleep>` for a module's
/// function, `<method 'append' of 'list' objects>` for a type's method, else
/// `<built-in method NAME>`.  Made once per method definition.
///
/// # Safety
/// GIL held; `func` is a valid borrowed reference.
pub unsafe fn builtin_label(py: Python<'_>, func: *mut ffi::PyObject) -> PyResult<u32> {
    // SAFETY: as in `builtin_name`.
    unsafe {
        if ffi::PyCFunction_Check(func) == 0 {
            let obj = Bound::from_borrowed_ptr(py, func);
            let name = text_of(&obj.getattr(intern!(py, "__name__"))?);
            return Ok(intern_name(py, &format!("<built-in method {name}>")));
        }
        let cfunc = func as *mut ffi::PyCFunctionObject;
        let def = (*cfunc).m_ml;
        let key = def as usize;
        if let Some(id) = cache(py).labels.get(&key) {
            return Ok(*id);
        }
        let name = CStr::from_ptr((*def).ml_name)
            .to_string_lossy()
            .into_owned();
        let owner = Bound::from_borrowed_ptr_or_opt(py, (*cfunc).m_self);
        let label = match owner {
            None => format!("<built-in method {name}>"),
            Some(module) if module.is_instance_of::<pyo3::types::PyModule>() => {
                match module.getattr(intern!(py, "__name__")) {
                    Ok(modname) => format!("<built-in method {}.{name}>", text_of(&modname)),
                    Err(_) => format!("<built-in method {name}>"),
                }
            }
            Some(owner) => {
                method_repr(&owner, &name)?.unwrap_or_else(|| format!("<built-in method {name}>"))
            }
        };
        let id = intern_name(py, &label);
        cache(py).labels.insert(key, id);
        Ok(id)
    }
}

/// The label of a builtin called as `callable` (a `sys.monitoring` `CALL`,
/// `C_RETURN` or `C_RAISE`), as the legacy profile hook would report it:
/// a builtin function, or a method descriptor called with its `self`
/// (`list.append(x, 1)`, and `x.append(1)` on 3.12+), whose bound method is
/// what `c_call` names.  None for anything else (a Python function, a
/// class): no C event.
///
/// # Safety
/// GIL held; `callable` and `first` (the first argument, or CPython's
/// "missing" marker) are valid borrowed references.
#[cfg(Py_3_12)]
pub unsafe fn callable_label(
    py: Python<'_>,
    callable: *mut ffi::PyObject,
    first_arg_given: bool,
) -> PyResult<Option<u32>> {
    // SAFETY: forwarded from the caller; a method descriptor's def is
    // static for its life, as a builtin function's is.
    unsafe {
        let kind = ffi::Py_TYPE(callable);
        let descriptor = std::ptr::addr_of_mut!(ffi::PyMethodDescr_Type);
        if kind != descriptor {
            // The exact type first: the subtype check showed in perf.
            let exact = kind == std::ptr::addr_of_mut!(ffi::PyCFunction_Type)
                || kind == std::ptr::addr_of_mut!(ffi::PyCMethod_Type);
            if exact || ffi::PyCFunction_Check(callable) != 0 {
                return builtin_label(py, callable).map(Some);
            }
            return Ok(None);
        }
        if !first_arg_given {
            return Ok(None);
        }
        let key = (*(callable as *mut ffi::PyMethodDescrObject)).d_method as usize;
        if let Some(id) = cache(py).labels.get(&key) {
            return Ok(Some(*id));
        }
        // `<method 'append' of 'list' objects>`: the descriptor's repr is
        // the label `builtin_label` gives its bound method.
        let label = text_of(Bound::from_borrowed_ptr(py, callable).repr()?.as_any());
        let id = intern_name(py, &label);
        cache(py).labels.insert(key, id);
        Ok(Some(id))
    }
}

/// `repr()` of the attribute `name` of `owner`'s type, found along its MRO
/// without calling descriptors (`<method 'append' of 'list' objects>`).
fn method_repr(owner: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<String>> {
    let py = owner.py();
    let mro = owner.get_type().getattr(intern!(py, "__mro__"))?;
    for klass in mro.try_iter()? {
        let dict = klass?.getattr(intern!(py, "__dict__"))?;
        if let Ok(found) = dict.get_item(name) {
            return Ok(Some(text_of(found.repr()?.as_any())));
        }
    }
    Ok(None)
}

/// Name id of a builtin seen in a `c_*` event: its `__name__`.
///
/// # Safety
/// GIL held; `func` is a valid borrowed reference.
#[inline]
pub unsafe fn builtin_name(py: Python<'_>, func: *mut ffi::PyObject) -> PyResult<u32> {
    // SAFETY: a PyCFunction's method def is static for the object's life and
    // its `ml_name` is a static C string: key the cache by that pointer.
    unsafe {
        if ffi::PyCFunction_Check(func) != 0 {
            let def = (*(func as *mut ffi::PyCFunctionObject)).m_ml;
            let name_ptr = (*def).ml_name;
            let key = name_ptr as usize;
            if let Some(id) = cache(py).builtins.get(&key) {
                return Ok(*id);
            }
            let name = CStr::from_ptr(name_ptr).to_string_lossy().into_owned();
            let id = intern_name(py, &name);
            cache(py).builtins.insert(key, id);
            return Ok(id);
        }
        let obj = Bound::from_borrowed_ptr(py, func);
        let name = text_of(&obj.getattr(intern!(py, "__name__"))?);
        Ok(intern_name(py, &name))
    }
}
