//! The event model: what the hook stores per event, and the record layouts
//! (field names and order) that SPEC §3 documents.

/// Interpreter events, in the names `sys.setprofile`/`sys.settrace` use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum EventKind {
    Call = 0,
    Return = 1,
    CCall = 2,
    CReturn = 3,
    CException = 4,
    Line = 5,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Call => "call",
            EventKind::Return => "return",
            EventKind::CCall => "c_call",
            EventKind::CReturn => "c_return",
            EventKind::CException => "c_exception",
            EventKind::Line => "line",
        }
    }
}

/// Line number stored for a frame whose `f_lineno` is `None`.
pub const NO_LINE: i32 = i32::MIN;

/// One event as the hook stores it: fixed size, no pointers, no Python.
///
/// `code` indexes [`crate::Tables::codes`] (file name and source lines of the
/// frame's code), `function` indexes [`crate::Tables::names`] (the code's name,
/// or the builtin's `__name__` for `c_*` events).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub index: u64,
    pub rss: u64,
    pub vms: u64,
    /// When, in [`crate::clock`] ticks (timed records only, else 0).
    pub time: u64,
    /// The thread (`threading.get_ident()`; timed records only, else 0).
    pub thread: u64,
    pub code: u32,
    pub function: u32,
    pub lineno: i32,
    pub kind: EventKind,
}

/// A field of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Index,
    Type,
    Function,
    LineNo,
    Line,
    Filename,
    Rss,
    Vms,
    /// Nanoseconds since the process's clock origin ([`crate::clock::to_ns`]).
    Time,
    Thread,
}

impl Field {
    /// Every field, in declaration order.
    pub const ALL: [Field; 10] = [
        Field::Index,
        Field::Type,
        Field::Function,
        Field::LineNo,
        Field::Line,
        Field::Filename,
        Field::Rss,
        Field::Vms,
        Field::Time,
        Field::Thread,
    ];

    /// Whether the field holds an integer (else text): what a filter's
    /// values are checked against.
    pub fn integer(self) -> bool {
        matches!(
            self,
            Field::Index | Field::LineNo | Field::Rss | Field::Vms | Field::Time | Field::Thread
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Field::Index => "index",
            Field::Type => "type",
            Field::Function => "function",
            Field::LineNo => "lineNo",
            Field::Line => "line",
            Field::Filename => "filename",
            Field::Rss => "RSS",
            Field::Vms => "VMS",
            Field::Time => "time",
            Field::Thread => "thread",
        }
    }
}

/// The four record layouts of SPEC §3, and their timed layouts: the same
/// fields with the time and the thread at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Function,
    Line,
    FunctionMemory,
    LineMemory,
    TimedFunction,
    TimedFunctionMemory,
    TimedLine,
    TimedLineMemory,
}

/// The most fields a record has.
pub const MAX_FIELDS: usize = 9;

impl RecordKind {
    /// Every record kind, in declaration order (what `pikos._native`
    /// exports as `RECORD_KINDS`, the one table Python builds its record
    /// classes and kind names from).
    pub const ALL: [RecordKind; 8] = [
        RecordKind::Function,
        RecordKind::Line,
        RecordKind::FunctionMemory,
        RecordKind::LineMemory,
        RecordKind::TimedFunction,
        RecordKind::TimedFunctionMemory,
        RecordKind::TimedLine,
        RecordKind::TimedLineMemory,
    ];

    /// The kind's name, as Python names it (the inverse of [`Self::from_name`]).
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Function => "function",
            RecordKind::Line => "line",
            RecordKind::FunctionMemory => "function_memory",
            RecordKind::LineMemory => "line_memory",
            RecordKind::TimedFunction => "timed_function",
            RecordKind::TimedFunctionMemory => "timed_function_memory",
            RecordKind::TimedLine => "timed_line",
            RecordKind::TimedLineMemory => "timed_line_memory",
        }
    }

    pub fn fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            RecordKind::Function => &[Index, Type, Function, LineNo, Filename],
            RecordKind::Line => &[Index, Function, LineNo, Line, Filename],
            RecordKind::FunctionMemory => &[Index, Type, Function, Rss, Vms, LineNo, Filename],
            RecordKind::LineMemory => &[Index, Function, LineNo, Rss, Vms, Line, Filename],
            RecordKind::TimedFunction => &[Index, Type, Function, LineNo, Filename, Time, Thread],
            RecordKind::TimedFunctionMemory => &[
                Index, Type, Function, Rss, Vms, LineNo, Filename, Time, Thread,
            ],
            RecordKind::TimedLine => &[Index, Function, LineNo, Line, Filename, Time, Thread],
            RecordKind::TimedLineMemory => &[
                Index, Function, LineNo, Rss, Vms, Line, Filename, Time, Thread,
            ],
        }
    }

    /// The timed layout of a layout (itself for a timed one).
    pub fn timed(self) -> Self {
        match self {
            RecordKind::Function | RecordKind::TimedFunction => RecordKind::TimedFunction,
            RecordKind::FunctionMemory | RecordKind::TimedFunctionMemory => {
                RecordKind::TimedFunctionMemory
            }
            RecordKind::Line | RecordKind::TimedLine => RecordKind::TimedLine,
            RecordKind::LineMemory | RecordKind::TimedLineMemory => RecordKind::TimedLineMemory,
        }
    }

    pub fn is_timed(self) -> bool {
        matches!(
            self,
            RecordKind::TimedFunction
                | RecordKind::TimedFunctionMemory
                | RecordKind::TimedLine
                | RecordKind::TimedLineMemory
        )
    }

    pub fn has_memory(self) -> bool {
        matches!(
            self,
            RecordKind::FunctionMemory
                | RecordKind::LineMemory
                | RecordKind::TimedFunctionMemory
                | RecordKind::TimedLineMemory
        )
    }

    /// Function events (the profile hook) rather than line events.
    pub fn is_function(self) -> bool {
        !matches!(
            self,
            RecordKind::Line
                | RecordKind::LineMemory
                | RecordKind::TimedLine
                | RecordKind::TimedLineMemory
        )
    }

    pub fn field_names(self) -> Vec<&'static str> {
        self.fields().iter().map(|f| f.name()).collect()
    }

    pub fn position(self, name: &str) -> Option<usize> {
        self.fields().iter().position(|f| f.name() == name)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// A field value, as Python would see it.  `Num` holds the text of a number
/// that is not an `int` (Python's `str()` of it): CSV leaves it unquoted
/// under `QUOTE_NONNUMERIC`.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Int(i64),
    Str(&'a str),
    /// A string owned by the process-wide [`Tables`](crate::Tables) (or a
    /// static): its address never changes or gets reused, so encoders may
    /// cache its encoding by address.  Otherwise the same as `Str`.
    Table(&'a str),
    Num(&'a str),
    None,
}

impl Value<'_> {
    pub fn to_owned_value(&self) -> OwnedValue {
        match self {
            Value::Int(i) => OwnedValue::Int(*i),
            Value::Str(s) | Value::Table(s) => OwnedValue::Str((*s).to_owned()),
            Value::Num(s) => OwnedValue::Num((*s).to_owned()),
            Value::None => OwnedValue::None,
        }
    }
}

/// An owned [`Value`], used by filters and by rows that come from Python.
#[derive(Clone, Debug, PartialEq)]
pub enum OwnedValue {
    Int(i64),
    Str(String),
    Num(String),
    /// A float; compared with `Int` the way Python compares `3.0 == 3`.
    Float(f64),
    None,
}

impl OwnedValue {
    pub fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Int(i) => Value::Int(*i),
            OwnedValue::Str(s) => Value::Str(s),
            OwnedValue::Num(s) => Value::Num(s),
            OwnedValue::Float(_) => Value::None,
            OwnedValue::None => Value::None,
        }
    }

    /// Python `==` between a filter value and a record field value.
    pub fn equals(&self, other: &Value<'_>) -> bool {
        match (self, other) {
            (OwnedValue::Int(a), Value::Int(b)) => a == b,
            (OwnedValue::Float(a), Value::Int(b)) => *a == *b as f64,
            (OwnedValue::Str(a), Value::Str(b) | Value::Table(b)) => a == b,
            (OwnedValue::None, Value::None) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_found_by_its_name() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(RecordKind::from_name("stats"), None);
    }

    #[test]
    fn a_timed_layout_is_its_layout_then_time_and_thread() {
        for kind in RecordKind::ALL {
            let timed = kind.timed();
            if timed == kind {
                assert!(kind.is_timed());
            } else {
                let mut fields = kind.fields().to_vec();
                fields.extend([Field::Time, Field::Thread]);
                assert_eq!(timed.fields(), fields.as_slice());
                assert!(!kind.is_timed() && timed.is_timed());
                assert_eq!(kind.is_function(), timed.is_function());
                assert_eq!(kind.has_memory(), timed.has_memory());
            }
            assert!(kind.fields().len() <= MAX_FIELDS);
        }
    }
}
