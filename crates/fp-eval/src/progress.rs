//! How a long job tells its caller how far it is, without printing: the
//! caller hands in a [`Progress`] that makes a [`Bar`] per stage.

/// Makes a [`Bar`] for each stage of a job.
pub trait Progress: Sync {
    /// A bar of `len` steps (0 while unknown) counting `unit`, saying `message`.
    fn bar(&self, len: usize, unit: &str, message: &str) -> Box<dyn Bar + '_>;
}

/// One stage's progress.
pub trait Bar: Send + Sync {
    /// The number of steps, once known.
    fn set_length(&self, len: usize);
    /// Steps done so far.
    fn set_position(&self, position: usize);
    /// `n` more steps done.
    fn inc(&self, n: usize);
    /// A line about an item that failed (the job goes on): shown without
    /// disturbing the bar.
    fn error(&self, line: &str);
    /// The stage is over: the bar goes away.
    fn finish(&self);
}

/// Shows nothing and drops the lines about failed items (tests, libraries).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn bar(&self, _len: usize, _unit: &str, _message: &str) -> Box<dyn Bar + '_> {
        Box::new(Silent)
    }
}

impl Bar for Silent {
    fn set_length(&self, _len: usize) {}
    fn set_position(&self, _position: usize) {}
    fn inc(&self, _n: usize) {}
    fn error(&self, _line: &str) {}
    fn finish(&self) {}
}
