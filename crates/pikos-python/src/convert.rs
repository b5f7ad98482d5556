//! Python values and specs to core types.

use pikos_core::encode::{CsvDialect, CsvEncoder, CsvQuoting, Encoder, Template, TextEncoder};
use pikos_core::event::OwnedValue;
use pikos_core::{Filter, FilterSet};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};
use std::time::Duration;

use crate::codes::text_of;

/// `seconds` as a `Duration`, or a ValueError naming `what` unless it is
/// >= 0 (> 0 when `positive`) and representable.
pub fn duration(seconds: f64, what: &str, positive: bool) -> PyResult<Duration> {
    match Duration::try_from_secs_f64(seconds) {
        Ok(d) if !(positive && d.is_zero()) => Ok(d),
        _ => {
            let bound = if positive { "> 0" } else { ">= 0" };
            Err(PyValueError::new_err(format!(
                "{what} must be {bound} seconds, not {seconds}"
            )))
        }
    }
}

/// A record value as the encoders see it: `int` and `str` as themselves,
/// other numbers as their `str()` (unquoted under `QUOTE_NONNUMERIC`, as
/// Python's csv does), anything else as its `str()`.
pub fn row_value(value: &Bound<'_, PyAny>) -> OwnedValue {
    if value.is_none() {
        OwnedValue::None
    } else if value.is_exact_instance_of::<PyString>() || value.is_instance_of::<PyString>() {
        OwnedValue::Str(text_of(value))
    } else if value.is_exact_instance_of::<PyInt>() {
        match value.extract::<i64>() {
            Ok(n) => OwnedValue::Int(n),
            Err(_) => OwnedValue::Num(text_of(value)),
        }
    } else if unsafe { pyo3::ffi::PyNumber_Check(value.as_ptr()) } != 0 {
        OwnedValue::Num(text_of(value))
    } else {
        OwnedValue::Str(text_of(value))
    }
}

/// A filter value, when the core can compare it the way Python's `==` would.
fn filter_value(value: &Bound<'_, PyAny>) -> Option<OwnedValue> {
    if value.is_none() {
        Some(OwnedValue::None)
    } else if value.is_instance_of::<PyBool>() {
        Some(OwnedValue::Int(i64::from(value.extract::<bool>().ok()?)))
    } else if value.is_exact_instance_of::<PyString>() {
        Some(OwnedValue::Str(value.extract::<String>().ok()?))
    } else if value.is_exact_instance_of::<PyInt>() {
        value.extract::<i64>().ok().map(OwnedValue::Int)
    } else if value.is_exact_instance_of::<PyFloat>() {
        value.extract::<f64>().ok().map(OwnedValue::Float)
    } else {
        None
    }
}

/// `pikos._specs.FilterSpec`, read by attribute name.
#[derive(FromPyObject)]
struct FilterSpec {
    kind: String,
    position: usize,
    values: Py<PyAny>,
}

/// A list of `pikos._specs.FilterSpec` to a filter set; `None` when some
/// value cannot be compared natively (the caller then filters in Python).
pub fn filters(specs: &Bound<'_, PyAny>) -> PyResult<Option<FilterSet>> {
    let py = specs.py();
    let mut out = Vec::new();
    for spec in specs.try_iter()? {
        let FilterSpec {
            kind,
            position: at,
            values,
        } = spec?.extract()?;
        let mut converted = Vec::new();
        for value in values.bind(py).try_iter()? {
            match filter_value(&value?) {
                Some(v) => converted.push(v),
                None => return Ok(None),
            }
        }
        out.push(match kind.as_str() {
            "on_value" => Filter::OnValue {
                at,
                values: converted,
            },
            "not_on_value" => Filter::NotOnValue {
                at,
                values: converted,
            },
            "on_change" => Filter::on_change(at),
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown filter kind {other:?}"
                )))
            }
        });
    }
    Ok(Some(FilterSet::new(out)))
}

/// `memory_interval` (microseconds): None, or a real number (not a bool) of
/// at least 0, as a float; an int too large for a float is infinite (longer
/// than any run).  The one owner of this rule.
pub fn memory_interval(value: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    if value.is_none() {
        return Ok(None);
    }
    let py = value.py();
    let real = py.import("numbers")?.getattr("Real")?;
    if value.is_instance_of::<PyBool>() || !value.is_instance(&real)? {
        return Err(PyTypeError::new_err(format!(
            "memory_interval must be a number of microseconds or None, not {}",
            value.repr()?
        )));
    }
    let us = match value.extract::<f64>() {
        Ok(us) => us,
        Err(error) if error.is_instance_of::<PyOverflowError>(py) => {
            if value.gt(0)? {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            }
        }
        Err(error) => return Err(error),
    };
    if us.is_nan() || us < 0.0 {
        return Err(PyValueError::new_err(format!(
            "memory_interval must be >= 0 microseconds (0 or None: a fresh \
             reading per event), not {}",
            PyFloat::new(py, us).repr()?
        )));
    }
    Ok(Some(us))
}

fn one_char(value: Option<String>, what: &str) -> PyResult<Option<char>> {
    let Some(text) = value else {
        return Ok(None);
    };
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(Some(c)),
        _ => Err(PyTypeError::new_err(format!(
            "csv {what} must be a 1-character string"
        ))),
    }
}

/// `pikos._specs.CsvEncoding`, read by attribute name.
#[derive(FromPyObject)]
struct CsvSpec {
    delimiter: Option<String>,
    quotechar: Option<String>,
    escapechar: Option<String>,
    doublequote: bool,
    lineterminator: String,
    quoting: i64,
    quote_line_breaks: bool,
}

/// `pikos._specs.TextEncoding`, read by attribute name.
#[derive(FromPyObject)]
struct TextSpec {
    header: Option<String>,
    line: Option<String>,
}

/// An encoder spec from Python (`pikos._specs`): its `format` ("csv" or
/// "text") says which, its other attributes are read by name.
pub fn encoder(spec: &Bound<'_, PyAny>) -> PyResult<Box<dyn Encoder>> {
    let format: String = spec.getattr(intern!(spec.py(), "format"))?.extract()?;
    match format.as_str() {
        "csv" => {
            let spec: CsvSpec = spec.extract()?;
            let quoting = match spec.quoting {
                0 => CsvQuoting::Minimal,
                1 => CsvQuoting::All,
                2 => CsvQuoting::NonNumeric,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "csv quoting {other} is not evaluated natively"
                    )))
                }
            };
            let dialect = CsvDialect {
                delimiter: one_char(spec.delimiter, "delimiter")?
                    .ok_or_else(|| PyTypeError::new_err("csv delimiter must be set"))?,
                quotechar: one_char(spec.quotechar, "quotechar")?,
                escapechar: one_char(spec.escapechar, "escapechar")?,
                doublequote: spec.doublequote,
                lineterminator: spec.lineterminator,
                quoting,
                quote_line_breaks: spec.quote_line_breaks,
            };
            Ok(Box::new(CsvEncoder::new(dialect)))
        }
        "text" => {
            let spec: TextSpec = spec.extract()?;
            match (spec.header, spec.line) {
                (None, None) => Ok(Box::new(TextEncoder::Plain)),
                (Some(header), Some(line)) => {
                    let parse = |t: &str| {
                        Template::parse(t).map_err(|e| PyValueError::new_err(e.to_string()))
                    };
                    Ok(Box::new(TextEncoder::Formatted {
                        header: parse(&header)?,
                        line: parse(&line)?,
                    }))
                }
                _ => Err(PyValueError::new_err(
                    "a formatted text encoder needs both templates",
                )),
            }
        }
        other => Err(PyValueError::new_err(format!(
            "unknown encoder format {other:?}"
        ))),
    }
}

/// `pikos._specs.PublisherSpec`, read by attribute name: where and how a
/// ZeroMQ publisher sink publishes (see `Sink.prepare_publisher`).
#[derive(FromPyObject)]
pub struct PublisherSpec {
    pub address: String,
    pub connect: bool,
    pub hwm: i32,
    /// Seconds `close` may wait for queued messages.
    pub linger: f64,
    /// Seconds to wait for a subscriber before the first record, if any.
    pub wait: Option<f64>,
    pub session: String,
    /// The session header, a JSON object.
    pub header: String,
}
