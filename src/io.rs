//! Small file helpers shared by the library: atomic writes (temporary file in the same
//! folder, then rename), so an interrupted run never leaves a half-written file, and an
//! advisory file lock, so two processes (or threads) never do the same work at once.
//! Also the binaries' standard output: one line at a time, with a closed pipe (`| head`)
//! an error they end quietly on, not `println!`'s panic.
//!
//! The library never prints: warnings (a skipped corpus file, unusable cached weights)
//! and notes (which model `auto` chose, a download, a wait for a lock) go through the
//! `log` facade, so a notebook or another program decides whether and where they show;
//! [`log_to_stderr`] is what the binaries choose.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |tmp| {
        let mut f = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(tmp, e))
    })
}

/// Writes `path` atomically through `write`, which creates the file at the temporary
/// path it is given (beside `path`, so the rename stays on one file system); the file
/// is then synced and renamed over `path`. On any error the temporary file is removed
/// and `path` is left as it was.
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = write(&tmp).and_then(|()| {
        let sync = std::fs::File::open(&tmp).and_then(|f| f.sync_all());
        sync.and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| Error::io(path, e))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// An exclusive advisory lock on a file (created if missing), held until dropped. When
/// another process or thread holds it, says so on stderr (`waiting for <who>`) and
/// waits.
pub struct FileLock(std::fs::File);

impl FileLock {
    pub fn take(path: &Path, who: &str) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        if f.try_lock().is_err() {
            log::info!("waiting for {who} to finish (lock {})", path.display());
            f.lock().map_err(|e| Error::io(path, e))?;
        }
        Ok(FileLock(f))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Writes one line to standard output. A reader that went away gives an error of kind
/// `BrokenPipe` (see [`is_broken_pipe`]) instead of the panic of `println!`.
pub fn print_line(line: impl std::fmt::Display) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(std::io::stdout().lock(), "{line}")
}

/// Whether `e`, or an error it wraps, is a closed pipe: the reader of standard output
/// went away (`figures list | head -5`). Binaries then end quietly with status 0.
pub fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut e = Some(e);
    while let Some(err) = e {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        e = err.source();
    }
    false
}

/// The binaries' choice of `log` sink: warnings as `warning: ...` and notes as they are,
/// one line each on standard error. Errors are not logged: they are returned.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        meta.level() <= log::Level::Info
    }
    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            match record.level() {
                log::Level::Error | log::Level::Warn => eprintln!("warning: {}", record.args()),
                _ => eprintln!("{}", record.args()),
            }
        }
    }
    fn flush(&self) {}
}

/// Shows the library's warnings and notes on standard error (what the binaries call
/// first). Calling it twice, or after another logger was installed, changes nothing.
pub fn log_to_stderr() {
    static LOG: StderrLog = StderrLog;
    if log::set_logger(&LOG).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}
