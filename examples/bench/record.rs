//! The figures of one pass as numbers, so that passes on two servers can be set side by side.

/// Which way a figure is better.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

pub struct Measure {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub better: Better,
}

/// Every figure of one pass on one server, in the order they were measured.
#[derive(Default)]
pub struct Record(pub Vec<Measure>);

impl Record {
    pub fn lower(&mut self, name: impl Into<String>, value: f64, unit: &'static str) {
        self.push(name.into(), value, unit, Better::Lower);
    }

    pub fn higher(&mut self, name: impl Into<String>, value: f64, unit: &'static str) {
        self.push(name.into(), value, unit, Better::Higher);
    }

    fn push(&mut self, name: String, value: f64, unit: &'static str, better: Better) {
        self.0.push(Measure {
            name,
            value,
            unit,
            better,
        });
    }
}
