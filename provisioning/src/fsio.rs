//! File-system helpers: bounded reads, files created with their final mode, whole directories
//! published with one rename, atomic replacement, JSON files, and the CA directory's lock.
//!
//! A secret file is opened with mode 0600 in the `open(2)` call itself, so it is never readable by
//! others, not even between creation and a later `chmod`.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::limits::FILE_BYTES_MAX;

/// Mode of private keys and secrets.
pub(crate) const MODE_SECRET: u32 = 0o600;
/// Mode of certificates, configs and manifests.
pub(crate) const MODE_PUBLIC: u32 = 0o644;
/// Mode of the directories this tool creates (they hold private keys).
pub(crate) const MODE_DIR: u32 = 0o700;

/// Reads a whole file of at most `FILE_BYTES_MAX` bytes.
pub(crate) fn read_limited(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(FILE_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > FILE_BYTES_MAX {
        let bytes = fs::metadata(path)
            .map(|m| m.len())
            .unwrap_or(FILE_BYTES_MAX + 1);
        return Err(Error::FileTooLarge {
            path: path.to_owned(),
            bytes,
            bytes_max: FILE_BYTES_MAX,
        });
    }
    Ok(bytes)
}

/// Reads a UTF-8 text file of at most `FILE_BYTES_MAX` bytes.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    String::from_utf8(read_limited(path)?).map_err(|_| Error::bad_file(path, "is not UTF-8 text"))
}

/// Creates `path` (which must not exist) with `mode`, writes `bytes` and flushes them to disk.
pub(crate) fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    // The umask may have narrowed the mode; set it exactly (never wider than asked).
    file.set_permissions(Permissions::from_mode(mode))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Replaces `path` with `bytes` atomically: a reader sees the old or the new content, never half.
pub(crate) fn replace(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // A leftover from a crashed run of the same pid is ours to discard.
    let _ = fs::remove_file(&temporary);
    write_new(&temporary, bytes, mode)?;
    if let Err(e) = fs::rename(&temporary, path) {
        let _ = fs::remove_file(&temporary);
        return Err(Error::io(path, e));
    }
    sync_dir(&dir)
}

/// The permission bits of a file (`0o600`, …).
pub(crate) fn mode_of(path: &Path) -> Result<u32> {
    fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .map_err(|e| Error::io(path, e))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Refuses a path that exists and is not an empty directory.
pub(crate) fn ensure_absent_or_empty(dir: &Path, hint: &'static str) -> Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(Error::AlreadyExists {
                path: dir.to_owned(),
                hint,
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(Error::AlreadyExists {
            path: dir.to_owned(),
            hint,
        }),
        Err(e) => Err(Error::io(dir, e)),
    }
}

static STAGING_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// A directory filled next to its destination and then renamed into place, so a failed run leaves
/// no half-written bundle or CA. Removed on drop unless published.
pub(crate) struct Staging {
    dir: PathBuf,
    published: bool,
}

impl Staging {
    /// Creates a private (0700) staging directory beside `destination`.
    pub(crate) fn beside(destination: &Path) -> Result<Self> {
        let parent = parent_of(destination);
        let name = destination
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::invalid("out", "must name a directory"))?;
        // Unique within this process too, so two threads never share a staging directory.
        let sequence = STAGING_SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!(".{name}.partial-{}-{sequence}", std::process::id()));
        if dir.exists() {
            // Left by a crashed run with the same pid: nothing in it was published.
            fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        DirBuilder::new()
            .mode(MODE_DIR)
            .create(&dir)
            .map_err(|e| Error::io(&dir, e))?;
        Ok(Staging {
            dir,
            published: false,
        })
    }

    /// The staging directory itself.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of `name` inside the staging directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Renames the staging directory to `destination`, which must be absent or an empty
    /// directory (rename(2) replaces an empty directory atomically).
    pub(crate) fn publish(mut self, destination: &Path, hint: &'static str) -> Result<()> {
        ensure_absent_or_empty(destination, hint)?;
        sync_dir(&self.dir)?;
        fs::rename(&self.dir, destination).map_err(|e| Error::io(destination, e))?;
        self.published = true;
        sync_dir(&parent_of(destination))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Exclusive right to change a CA directory, held as a lock file created with `O_EXCL`.
pub(crate) struct CaLock {
    path: PathBuf,
}

impl CaLock {
    pub(crate) fn acquire(ca_dir: &Path) -> Result<Self> {
        let path = ca_dir.join(crate::ca_files::LOCK);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(MODE_SECRET)
            .open(&path)
        {
            Ok(mut file) => {
                // The pid helps whoever finds a stale lock; failing to write it is harmless.
                let _ = writeln!(file, "{}", std::process::id());
                Ok(CaLock { path })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Error::CaLocked { path })
            }
            Err(e) => Err(Error::io(&path, e)),
        }
    }
}

impl Drop for CaLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes =
        serde_json::to_vec_pretty(value).expect("plain data structures always serialize to JSON");
    bytes.push(b'\n');
    bytes
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| Error::bad_file(path, format!("invalid JSON: {e}")))
}
