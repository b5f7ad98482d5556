//! From events to bytes: the [`Pipeline`] resolves a hook event's ids
//! (the code and name tables), applies the built-in filters and encodes
//! the row; for an encoder whose rows are joined fields, its [`RowCache`]
//! encodes what depends only on an event's location once.  [`EventFilter`]
//! is the same filtering over events kept in memory.

use crate::clock;
use crate::encode::Encoder;
use crate::error::{Error, Result};
use crate::event::{Event, Field, RecordKind, Value, MAX_FIELDS, NO_LINE};
use crate::filter::FilterSet;
use crate::tables::TablesView;
use rustc_hash::FxHashMap;

/// Text of the `line` field when the source of a line is not available.
pub const NO_SOURCE: &str = "<source unavailable>";

pub struct Pipeline {
    /// The layout of hook events; `None` for a pipeline that only gets rows.
    kind: Option<RecordKind>,
    filters: FilterSet,
    encoder: Box<dyn Encoder>,
    view: TablesView,
    /// Encoded rows, but for their index and memory figures, by location.
    rows: Option<RowCache>,
}

/// Entries a [`RowCache`] holds before it starts over (bounds its memory
/// for programs that run many distinct lines).
const ROW_CACHE_ENTRIES: usize = 1 << 16;

/// For an encoder whose rows are joined fields ([`Encoder::joined`]): all
/// of a hook event's fields but its index, RSS and VMS depend only on its
/// location (code, function, line, event kind), so their encoding is made
/// once per location.  A row is then the digits of the varying numbers and
/// at most three copies of cached bytes.
struct RowCache {
    /// Per field of the record: true when it varies from event to event.
    varying: Vec<bool>,
    /// Location -> the fixed runs between the varying fields, one after the
    /// other, with the end offset of each run.
    entries: FxHashMap<Location, FixedRuns>,
}

/// Code id, function name id, line number, event kind.
type Location = (u32, u32, i32, u8);
/// A row's fixed runs one after the other, and the end of each run but the
/// last (one end per varying field).
type FixedRuns = (Box<[u8]>, [u32; MAX_FIELDS]);

impl RowCache {
    fn new(fields: &[Field]) -> Self {
        RowCache {
            varying: fields.iter().map(|&f| varies(f)).collect(),
            entries: FxHashMap::default(),
        }
    }
}

/// Whether `field` varies from event to event at one location (else it
/// depends only on the event's code, function, line and kind).
pub(crate) fn varies(field: Field) -> bool {
    matches!(
        field,
        Field::Index | Field::Rss | Field::Vms | Field::Time | Field::Thread
    )
}

/// The number a varying field (see [`varies`]) holds for `event`.
#[inline]
pub(crate) fn varying_number(field: Field, event: &Event) -> u64 {
    match field {
        Field::Index => event.index,
        Field::Rss => event.rss,
        Field::Vms => event.vms,
        Field::Time => clock::to_ns(event.time),
        _ => event.thread,
    }
}

impl Pipeline {
    pub fn new(kind: Option<RecordKind>, filters: FilterSet, encoder: Box<dyn Encoder>) -> Self {
        let rows = match kind {
            Some(kind) if filters.is_empty() && encoder.joined().is_some() => {
                Some(RowCache::new(kind.fields()))
            }
            _ => None,
        };
        Pipeline {
            kind,
            filters,
            encoder,
            view: TablesView::default(),
            rows,
        }
    }

    pub fn kind(&self) -> Option<RecordKind> {
        self.kind
    }

    pub fn header(&mut self, fields: &[&str], out: &mut Vec<u8>) -> Result<()> {
        self.encoder.header(fields, out)
    }

    /// A row that did not come from the hook (a record passed to
    /// `recorder.record()` from Python); filtered and encoded the same way.
    pub fn row(&mut self, values: &[Value<'_>], out: &mut Vec<u8>) -> Result<()> {
        if self.filters.keep(values) {
            self.encoder.row(values, out)?;
        }
        Ok(())
    }

    pub fn events(&mut self, events: &[Event], out: &mut Vec<u8>) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let Some(kind) = self.kind else {
            return Err(Error::State(
                "events sent to a pipeline made for rows only".to_owned(),
            ));
        };
        let fields = kind.fields();
        if self.encoder.takes_events() {
            return self.whole_events(kind, events, out);
        }
        if let Some(mut rows) = self.rows.take() {
            let encoded = self.cached_events(&mut rows, fields, events, out);
            self.rows = Some(rows);
            return encoded;
        }
        for event in events {
            self.view.ensure(event.code, event.function);
            let row = Self::values(&self.view, fields, event);
            let row = &row[..fields.len()];
            if self.filters.keep(row) {
                self.encoder.row(row, out)?;
            }
        }
        Ok(())
    }

    /// The end of the session: what the encoder writes last.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        self.encoder.finish(out)
    }

    /// `events` to an encoder that takes them whole, filtered first.
    fn whole_events(
        &mut self,
        kind: RecordKind,
        events: &[Event],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if self.filters.is_empty() {
            return self.encoder.events(kind, &mut self.view, events, out);
        }
        let fields = kind.fields();
        let mut kept = Vec::with_capacity(events.len());
        for event in events {
            self.view.ensure(event.code, event.function);
            let row = Self::values(&self.view, fields, event);
            if self.filters.keep(&row[..fields.len()]) {
                kept.push(*event);
            }
        }
        self.encoder.events(kind, &mut self.view, &kept, out)
    }

    /// The values of `event`'s record (the first `fields.len()` of them).
    pub(crate) fn values<'v>(
        view: &'v TablesView,
        fields: &[Field],
        event: &Event,
    ) -> [Value<'v>; MAX_FIELDS] {
        let code = view.code(event.code);
        let mut row: [Value<'_>; MAX_FIELDS] = std::array::from_fn(|_| Value::None);
        for (slot, field) in row.iter_mut().zip(fields) {
            *slot = match field {
                Field::Index => Value::Int(event.index as i64),
                Field::Type => Value::Table(event.kind.name()),
                Field::Function => Value::Table(view.name(event.function)),
                Field::LineNo if event.lineno == NO_LINE => Value::None,
                Field::LineNo => Value::Int(i64::from(event.lineno)),
                Field::Line => Value::Table(code.line(event.lineno).unwrap_or(NO_SOURCE)),
                Field::Filename => Value::Table(&code.filename),
                Field::Rss => Value::Int(event.rss as i64),
                Field::Vms => Value::Int(event.vms as i64),
                Field::Time => Value::Int(clock::to_ns(event.time) as i64),
                Field::Thread => Value::Int(event.thread as i64),
            };
        }
        row
    }

    /// `events` through the row cache: see [`RowCache`].
    fn cached_events(
        &mut self,
        rows: &mut RowCache,
        fields: &[Field],
        events: &[Event],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let mut digits = itoa::Buffer::new();
        for event in events {
            let key = (event.code, event.function, event.lineno, event.kind as u8);
            if let Some((bytes, ends)) = rows.entries.get(&key) {
                emit_row(bytes, ends, fields, &rows.varying, event, &mut digits, out);
                continue;
            }
            if rows.entries.len() >= ROW_CACHE_ENTRIES {
                rows.entries.clear();
            }
            let (bytes, ends) = self.fixed_runs(&rows.varying, fields, event)?;
            emit_row(
                &bytes,
                &ends,
                fields,
                &rows.varying,
                event,
                &mut digits,
                out,
            );
            rows.entries.insert(key, (bytes, ends));
        }
        Ok(())
    }

    /// The encoded fixed runs of `event`'s row: the bytes between its
    /// varying fields (separators included, terminator at the end), and the
    /// end offset of each run but the last.
    fn fixed_runs(
        &mut self,
        varying: &[bool],
        fields: &[Field],
        event: &Event,
    ) -> Result<FixedRuns> {
        self.view.ensure(event.code, event.function);
        let values = Self::values(&self.view, fields, event);
        let (separator, terminator) = self
            .encoder
            .joined()
            .map(|(s, t)| (s.to_vec(), t.to_vec()))
            .ok_or_else(|| Error::State("row cache without a joined encoder".to_owned()))?;
        let mut bytes = self.encoder.prefix().to_vec();
        let mut ends = [0u32; MAX_FIELDS];
        let mut run = 0;
        for (i, (value, &varies)) in values.iter().zip(varying).enumerate() {
            if i > 0 {
                bytes.extend_from_slice(&separator);
            }
            if varies {
                ends[run] = bytes.len() as u32;
                run += 1;
            } else {
                self.encoder.field(value, &mut bytes)?;
            }
        }
        bytes.extend_from_slice(&terminator);
        Ok((bytes.into_boxed_slice(), ends))
    }
}

/// Built-in filters over events kept in memory (a `ListRecorder`'s): each
/// event is judged on the values of its record, in order, exactly as a
/// [`Pipeline`] judges it before encoding.
pub struct EventFilter {
    kind: RecordKind,
    filters: FilterSet,
    view: TablesView,
}

impl EventFilter {
    pub fn new(kind: RecordKind, filters: FilterSet) -> Self {
        EventFilter {
            kind,
            filters,
            view: TablesView::default(),
        }
    }

    /// Keeps, in order, the events of `events[from..]` the filters keep.
    pub fn retain(&mut self, events: &mut Vec<Event>, from: usize) {
        let fields = self.kind.fields();
        let mut kept = from;
        for i in from..events.len() {
            let event = events[i];
            self.view.ensure(event.code, event.function);
            let row = Pipeline::values(&self.view, fields, &event);
            if self.filters.keep(&row[..fields.len()]) {
                events[kept] = event;
                kept += 1;
            }
        }
        events.truncate(kept);
    }
}

/// One row from its cached fixed runs and the event's varying numbers.
#[inline]
fn emit_row(
    bytes: &[u8],
    ends: &[u32; MAX_FIELDS],
    fields: &[Field],
    varying: &[bool],
    event: &Event,
    digits: &mut itoa::Buffer,
    out: &mut Vec<u8>,
) {
    let (mut run, mut start) = (0, 0);
    for (field, &varies) in fields.iter().zip(varying) {
        if !varies {
            continue;
        }
        // The fixed run before this varying field, then its digits.
        let end = ends[run] as usize;
        out.extend_from_slice(&bytes[start..end]);
        (start, run) = (end, run + 1);
        let number = varying_number(*field, event);
        out.extend_from_slice(digits.format(number).as_bytes());
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::encode::{CsvDialect, CsvEncoder, TextEncoder};
    use crate::event::{EventKind, OwnedValue};
    use crate::filter::Filter;
    use crate::tables::{tables, CodeEntry};

    pub(crate) fn code(filename: &str, lines: &[&str]) -> (u32, u32) {
        let mut t = tables().write().unwrap();
        let code = t.add_code(CodeEntry {
            filename: filename.into(),
            first_line: 1,
            lines: Some(lines.iter().map(|l| Box::<str>::from(*l)).collect()),
        });
        let name = t.add_name("work".into());
        (code, name)
    }

    pub(crate) fn event(
        index: u64,
        kind: EventKind,
        (code, function): (u32, u32),
        lineno: i32,
    ) -> Event {
        Event {
            index,
            rss: 10,
            vms: 20,
            time: 0,
            thread: 0,
            code,
            function,
            lineno,
            kind,
        }
    }

    #[test]
    fn events_resolve_to_rows() {
        let ids = code("m.py", &["def work():", "    x = 1"]);
        let mut p = Pipeline::new(
            Some(RecordKind::Line),
            FilterSet::default(),
            Box::new(TextEncoder::Plain),
        );
        let mut out = Vec::new();
        p.events(
            &[
                event(0, EventKind::Line, ids, 2),
                event(1, EventKind::Line, ids, 9),
            ],
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("0 work 2     x = 1 m.py\n1 work 9 {NO_SOURCE} m.py\n")
        );
    }

    #[test]
    fn filters_drop_rows_but_indices_stay() {
        let ids = code("f.py", &[]);
        let filters = FilterSet::new(vec![Filter::OnValue {
            at: 1,
            values: vec![OwnedValue::Str("return".into())],
        }]);
        let mut p = Pipeline::new(
            Some(RecordKind::FunctionMemory),
            filters,
            Box::new(CsvEncoder::new(CsvDialect::default())),
        );
        let mut out = Vec::new();
        p.events(
            &[
                event(0, EventKind::Call, ids, 1),
                event(1, EventKind::Return, ids, 1),
            ],
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1,return,work,10,20,1,f.py\r\n"
        );
    }

    #[test]
    fn event_filters_keep_what_the_pipeline_keeps() {
        let ids = code("m.py", &[]);
        let filters = || {
            FilterSet::new(vec![Filter::OnValue {
                at: 1,
                values: vec![OwnedValue::Str("call".into())],
            }])
        };
        let mut events: Vec<Event> = (0..10)
            .map(|i| {
                let kind = if i % 3 == 0 {
                    EventKind::Call
                } else {
                    EventKind::Return
                };
                event(i, kind, ids, 3)
            })
            .collect();
        let mut filter = EventFilter::new(RecordKind::Function, filters());
        // Two runs, as a memory sink makes them: the first part kept as is.
        filter.retain(&mut events, 0);
        let first = events.len();
        events.extend((10..13).map(|i| event(i, EventKind::Call, ids, 3)));
        filter.retain(&mut events, first);
        let kept: Vec<u64> = events.iter().map(|e| e.index).collect();
        assert_eq!(kept, [0, 3, 6, 9, 10, 11, 12]);
    }

    #[test]
    fn cached_rows_are_the_rows_encoded_one_by_one() {
        let lines = ["def f(a, b):", "    s = \"x,\" + 'y'", "    return s"];
        let located = code("/p/a, b.py", &lines);
        let events: Vec<Event> = (0..40u64)
            .map(|i| Event {
                index: i,
                time: 0,
                thread: 0,
                rss: 1000 + i * 7,
                vms: 9000 + i,
                code: located.0,
                function: located.1,
                // NO_LINE and a line past the source too.
                lineno: [1, 2, 3, 9, NO_LINE][i as usize % 5],
                kind: [EventKind::Call, EventKind::Line, EventKind::Return][i as usize % 3],
            })
            .collect();
        let encoders: Vec<fn() -> Box<dyn Encoder>> = vec![
            || Box::new(CsvEncoder::new(CsvDialect::default())),
            || {
                Box::new(CsvEncoder::new(CsvDialect {
                    quoting: crate::encode::CsvQuoting::NonNumeric,
                    ..CsvDialect::default()
                }))
            },
            || Box::new(TextEncoder::Plain),
        ];
        for kind in [
            RecordKind::Function,
            RecordKind::Line,
            RecordKind::FunctionMemory,
            RecordKind::LineMemory,
        ] {
            for make in &encoders {
                let mut cached = Pipeline::new(Some(kind), FilterSet::default(), make());
                assert!(cached.rows.is_some());
                // A filter that keeps everything turns the cache off.
                let never = FilterSet::new(vec![Filter::NotOnValue {
                    at: 0,
                    values: vec![OwnedValue::Int(-1)],
                }]);
                let mut plain = Pipeline::new(Some(kind), never, make());
                assert!(plain.rows.is_none());
                let (mut a, mut b) = (Vec::new(), Vec::new());
                for batch in events.chunks(7) {
                    cached.events(batch, &mut a).unwrap();
                    plain.events(batch, &mut b).unwrap();
                }
                assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
            }
        }
    }
}
