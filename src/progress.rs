//! Progress of long work (training a net, computing and rendering figures), reported
//! to a sink the caller chooses, as warnings go to the `log` facade: the library says
//! "a task of n steps started, it is at step i, it ended" and never draws anything
//! itself. With no sink installed nothing is shown (a notebook, a test, another
//! program); the binaries install [`TerminalBars`], which draws indicatif bars on
//! standard error when it is a terminal. Serves sections 3-7 (the trained nets) and the
//! figure builder.

use std::io::IsTerminal;
use std::sync::OnceLock;

/// Where progress goes: one [`Task`] per long piece of work.
pub trait Sink: Send + Sync {
    /// A task named `what` of `len` steps starts.
    fn start(&self, what: &str, len: u64) -> Box<dyn Task>;
}

/// One running task.
pub trait Task: Send + Sync {
    /// `pos` steps are done; `msg` says something about the latest (e.g. the loss).
    fn update(&self, pos: u64, msg: &str);
    /// The task ended (done or abandoned).
    fn finish(&self);
}

static SINK: OnceLock<Box<dyn Sink>> = OnceLock::new();

/// Installs the process's progress sink; false (and nothing changes) when one is
/// already installed.
pub fn set_sink(sink: Box<dyn Sink>) -> bool {
    SINK.set(sink).is_ok()
}

/// A task reported to the installed sink, or to nothing.
pub fn start(what: &str, len: u64) -> Box<dyn Task> {
    match SINK.get() {
        Some(s) => s.start(what, len),
        None => Box::new(Silent),
    }
}

/// Reports nothing.
pub struct Silent;

impl Task for Silent {
    fn update(&self, _: u64, _: &str) {}
    fn finish(&self) {}
}

/// Progress bars on standard error (only when it is a terminal), what the binaries use.
pub struct TerminalBars;

impl Sink for TerminalBars {
    fn start(&self, what: &str, len: u64) -> Box<dyn Task> {
        if !std::io::stderr().is_terminal() {
            return Box::new(Silent);
        }
        let pb = indicatif::ProgressBar::new(len);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        pb.set_prefix(what.to_string());
        Box::new(Bar(pb))
    }
}

struct Bar(indicatif::ProgressBar);

impl Task for Bar {
    fn update(&self, pos: u64, msg: &str) {
        self.0.set_position(pos);
        if !msg.is_empty() {
            self.0.set_message(msg.to_string());
        }
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A task counted step by step, shareable between threads: `step(msg)` adds one.
pub struct Counter {
    task: Box<dyn Task>,
    pos: std::sync::atomic::AtomicU64,
}

impl Counter {
    /// A counted task on the installed sink when `report` is true, else on nothing.
    pub fn start(report: bool, what: &str, len: usize) -> Self {
        let task = if report {
            start(what, len as u64)
        } else {
            Box::new(Silent)
        };
        Counter {
            task,
            pos: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// One more step done; `msg` (if not empty) says something about it.
    pub fn step(&self, msg: &str) {
        let pos = self.pos.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        self.task.update(pos, msg);
    }

    pub fn finish(&self) {
        self.task.finish();
    }
}
