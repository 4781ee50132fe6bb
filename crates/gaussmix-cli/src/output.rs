//! Output: atomic file writes and number formatting.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{CliError, CliResult};

/// Shortest text that reads back as the same f64.
pub fn num(v: f64) -> String {
    format!("{v:?}")
}

/// The directory a file will be written in; checked before any work is done.
pub fn check_output_path(path: &Path) -> CliResult<()> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(CliError::data(format!(
            "cannot write {}: directory {} does not exist; create it first",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(CliError::data(format!(
            "cannot write {}: it is a directory; give a file name",
            path.display()
        )));
    }
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A figure path must end in .png or .svg and be writable; `flag` names the option.
pub fn check_figure_path(path: &Path, flag: &str) -> CliResult<()> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    if !matches!(ext.as_deref(), Some("png") | Some("svg")) {
        return Err(CliError::usage(format!(
            "{flag} {}: the file name must end in .png or .svg",
            path.display()
        )));
    }
    check_output_path(path)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a
/// rename, so a failure never leaves a half-written or clobbered file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> CliResult<()> {
    with_temp_file(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| CliError::data(e.to_string()))
    })
}

/// Where a write to `path` must land: symbolic links are followed (so that the link
/// stays a link), and whether the destination is special (a device such as /dev/null,
/// a FIFO): those are written in place, never replaced by a rename.
fn destination(path: &Path) -> (PathBuf, bool) {
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    };
    let special = std::fs::metadata(&target)
        .map(|m| !m.is_file() && !m.is_dir())
        .unwrap_or(false);
    (target, special)
}

/// Lets `render` write a temporary file (with the target's extension) and then renames it
/// over `path`; a special destination (/dev/null, a FIFO) gets the bytes copied in place.
pub fn with_temp_file(path: &Path, render: impl FnOnce(&Path) -> CliResult<()>) -> CliResult<()> {
    check_output_path(path)?;
    let (target, special) = destination(path);
    let dir = if special {
        std::env::temp_dir()
    } else {
        parent_dir(&target)
    };
    let suffix = target
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix(".gaussmix-")
        .suffix(&suffix)
        .tempfile_in(&dir)
        .map_err(|e| CliError::data(format!("cannot write {}: {e}", path.display())))?;
    render(tmp.path()).map_err(|e| e.context(format!("cannot write {}", path.display())))?;
    if special {
        let bytes = std::fs::read(tmp.path())
            .map_err(|e| CliError::data(format!("cannot write {}: {e}", path.display())))?;
        return std::fs::OpenOptions::new()
            .write(true)
            .open(&target)
            .and_then(|mut f| f.write_all(&bytes))
            .map_err(|e| CliError::data(format!("cannot write {}: {e}", path.display())));
    }
    // Temporary files are created private (0600); give the result the permissions a
    // plain write would have had (those of the file it replaces, if any).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::metadata(&target)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o644));
        let _ = std::fs::set_permissions(tmp.path(), perms);
    }
    tmp.persist(&target)
        .map_err(|e| CliError::data(format!("cannot write {}: {}", path.display(), e.error)))?;
    Ok(())
}

/// Writes text to the `-o` file (atomically) or to stdout.
pub fn emit(out: Option<&Path>, text: &str) -> CliResult<()> {
    match out {
        Some(p) => write_atomic(p, text.as_bytes()),
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            match lock.write_all(text.as_bytes()).and_then(|_| lock.flush()) {
                Ok(()) => Ok(()),
                // A closed pipe (`| head`) is not an error worth a message.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(CliError::data(format!("cannot write to stdout: {e}"))),
            }
        }
    }
}
