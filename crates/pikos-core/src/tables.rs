//! Process-wide string tables shared by the hook (which appends) and the
//! writer threads (which read).  Ids are indices and never change, so an
//! [`crate::Event`] stays meaningful for as long as the process lives.

use std::sync::{Arc, OnceLock, RwLock};

/// What the writers need to know about one code object.
#[derive(Debug)]
pub struct CodeEntry {
    pub filename: Arc<str>,
    /// `co_firstlineno` (what `pstats` keys a function by).
    pub first_line: i32,
    /// Source lines of the file (indentation kept, trailing whitespace
    /// stripped), or `None` when the source is not available.
    pub lines: Option<Arc<[Box<str>]>>,
}

impl CodeEntry {
    /// Source text of line `lineno` (1-based), if the source has that line.
    pub fn line(&self, lineno: i32) -> Option<&str> {
        let lines = self.lines.as_ref()?;
        let at = usize::try_from(lineno).ok()?.checked_sub(1)?;
        lines.get(at).map(|l| &**l)
    }
}

#[derive(Debug, Default)]
pub struct Tables {
    pub codes: Vec<Arc<CodeEntry>>,
    pub names: Vec<Arc<str>>,
}

impl Tables {
    pub fn add_code(&mut self, entry: CodeEntry) -> u32 {
        self.codes.push(Arc::new(entry));
        u32::try_from(self.codes.len() - 1).expect("more than 4G code objects")
    }

    pub fn add_name(&mut self, name: Arc<str>) -> u32 {
        self.names.push(name);
        u32::try_from(self.names.len() - 1).expect("more than 4G names")
    }
}

/// The one table of the process.
pub fn tables() -> &'static RwLock<Tables> {
    static TABLES: OnceLock<RwLock<Tables>> = OnceLock::new();
    TABLES.get_or_init(|| RwLock::new(Tables::default()))
}

/// Python's `str.rstrip()`: `char::is_whitespace` plus the four separators
/// U+001C..U+001F that Python also counts as whitespace.
pub fn rstrip_python(text: &str) -> &str {
    text.trim_end_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// A writer's private copy of the tables, refreshed only when an event names
/// an id the copy does not have yet, so the lock is taken rarely.
#[derive(Debug, Default)]
pub struct TablesView {
    codes: Vec<Arc<CodeEntry>>,
    names: Vec<Arc<str>>,
}

impl TablesView {
    /// Makes sure `code` and `name` are in the copy.
    #[inline]
    pub fn ensure(&mut self, code: u32, name: u32) {
        if code as usize >= self.codes.len() || name as usize >= self.names.len() {
            let shared = tables().read().unwrap_or_else(|e| e.into_inner());
            self.codes
                .extend(shared.codes[self.codes.len()..].iter().cloned());
            self.names
                .extend(shared.names[self.names.len()..].iter().cloned());
        }
    }

    /// A code entry; call [`TablesView::ensure`] first.
    pub fn code(&self, id: u32) -> &CodeEntry {
        &self.codes[id as usize]
    }

    /// A name; call [`TablesView::ensure`] first.
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rstrip_matches_python() {
        assert_eq!(rstrip_python("    x = 1  \t\r\n"), "    x = 1");
        assert_eq!(rstrip_python("a\x1c\x1f"), "a");
        assert_eq!(rstrip_python("a\u{3000}"), "a");
        assert_eq!(rstrip_python(""), "");
    }

    #[test]
    fn line_lookup_is_one_based_and_bounded() {
        let entry = CodeEntry {
            filename: "f.py".into(),
            first_line: 1,
            lines: Some(vec!["a".into(), "  b".into()].into()),
        };
        assert_eq!(entry.line(1), Some("a"));
        assert_eq!(entry.line(2), Some("  b"));
        assert_eq!(entry.line(0), None);
        assert_eq!(entry.line(3), None);
        assert_eq!(entry.line(-5), None);
    }

    #[test]
    fn view_sees_entries_added_after_it_was_made() {
        let mut view = TablesView::default();
        let id = tables().write().unwrap().add_name("late".into());
        view.ensure(0, id);
        assert_eq!(view.name(id), "late");
    }
}
