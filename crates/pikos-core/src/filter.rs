//! The built-in filters (`OnValue`, `NotOnValue`, `OnChange`) evaluated on a
//! resolved row, with Python's `==` semantics for the values they hold.

use crate::event::{OwnedValue, Value};

#[derive(Clone, Debug)]
pub enum Filter {
    /// Keep the record when field `at` equals one of `values`.
    OnValue { at: usize, values: Vec<OwnedValue> },
    /// Keep the record when field `at` equals none of `values`.
    NotOnValue { at: usize, values: Vec<OwnedValue> },
    /// Keep the record when field `at` differs from the previous record's;
    /// the first record is always kept.
    OnChange {
        at: usize,
        previous: Option<OwnedValue>,
    },
}

impl Filter {
    pub fn on_change(at: usize) -> Self {
        Filter::OnChange { at, previous: None }
    }

    pub fn field(&self) -> usize {
        match self {
            Filter::OnValue { at, .. }
            | Filter::NotOnValue { at, .. }
            | Filter::OnChange { at, .. } => *at,
        }
    }

    pub fn keep(&mut self, row: &[Value<'_>]) -> bool {
        match self {
            Filter::OnValue { at, values } => values.iter().any(|v| v.equals(&row[*at])),
            Filter::NotOnValue { at, values } => !values.iter().any(|v| v.equals(&row[*at])),
            Filter::OnChange { at, previous } => {
                let current = &row[*at];
                if previous.as_ref().is_some_and(|p| p.equals(current)) {
                    false
                } else {
                    *previous = Some(current.to_owned_value());
                    true
                }
            }
        }
    }
}

/// Filters applied in order; a record is kept when every filter keeps it.
/// Every filter sees every record (an `OnChange` after a rejecting filter
/// still tracks the value), matching a Python filter that calls them all.
#[derive(Clone, Debug, Default)]
pub struct FilterSet {
    filters: Vec<Filter>,
}

impl FilterSet {
    pub fn new(filters: Vec<Filter>) -> Self {
        FilterSet { filters }
    }

    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    pub fn keep(&mut self, row: &[Value<'_>]) -> bool {
        let mut keep = true;
        for filter in &mut self.filters {
            keep &= filter.keep(row);
        }
        keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_value_compares_like_python() {
        let mut f = Filter::OnValue {
            at: 0,
            values: vec![OwnedValue::Str("call".into()), OwnedValue::Float(3.0)],
        };
        assert!(f.keep(&[Value::Str("call")]));
        assert!(!f.keep(&[Value::Str("return")]));
        assert!(f.keep(&[Value::Int(3)]));
        assert!(!f.keep(&[Value::Str("3")]));
        let mut n = Filter::NotOnValue {
            at: 0,
            values: vec![OwnedValue::Int(1)],
        };
        assert!(!n.keep(&[Value::Int(1)]));
        assert!(n.keep(&[Value::Int(2)]));
    }

    #[test]
    fn on_change_keeps_first_and_changes() {
        let mut f = Filter::on_change(0);
        let seen: Vec<bool> = ["a", "a", "b", "b", "a"]
            .iter()
            .map(|s| f.keep(&[Value::Str(s)]))
            .collect();
        assert_eq!(seen, [true, false, true, false, true]);
    }
}
