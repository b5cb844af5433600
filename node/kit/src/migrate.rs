//! Opening a database that an older version wrote: its migration runs on a **copy**, so that a
//! migration that fails leaves the old database exactly as it was (the previous version still
//! runs on it), and one that succeeds keeps the old database beside the new one as the backup
//! taken first.
//!
//! `{data}` is migrated as `{data}.upgrading`; once the copy is migrated and durable it gets a
//! `MIGRATION_COMPLETE` mark, `{data}` becomes `{data}.before-layout-{v}-{time}` and the copy takes
//! its name. A crash between those two renames leaves no `{data}` but a marked copy, which the
//! next open moves into place; an unmarked copy is an attempt cut short and is removed (the
//! original was never touched).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use crate::docs;
use crate::store::{GroupCommit, SledStore, Store, StoreError};

/// Written into a migrated copy once it is complete and durable.
const COMPLETE_MARK: &str = "MIGRATION_COMPLETE";

#[derive(Debug, Error)]
pub enum MigrationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(String),
    #[error("the database in {data} (layout {from}) cannot be migrated: {reason}. It was left untouched: the previous version still runs on it.")]
    Failed {
        data: String,
        from: String,
        reason: String,
    },
}

fn sibling(data_dir: &Path, suffix: &str) -> PathBuf {
    let name = data_dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "data".into());
    data_dir.with_file_name(format!("{name}{suffix}"))
}

/// The copy a migration works on.
pub fn upgrading_dir(data_dir: &Path) -> PathBuf {
    sibling(data_dir, ".upgrading")
}

fn io(what: String) -> impl Fn(std::io::Error) -> MigrationError {
    move |e| MigrationError::Io(format!("{what}: {e}"))
}

/// Copies the database's files (regular files only: a control socket is not copied) and syncs
/// them.
fn copy_database(from: &Path, to: &Path) -> Result<(), MigrationError> {
    std::fs::create_dir_all(to).map_err(io(format!("cannot create {}", to.display())))?;
    for entry in std::fs::read_dir(from).map_err(io(format!("cannot list {}", from.display())))? {
        let entry = entry.map_err(io(format!("cannot list {}", from.display())))?;
        let kind = entry
            .file_type()
            .map_err(io(format!("cannot stat {}", entry.path().display())))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_database(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .map_err(io(format!("cannot copy {}", entry.path().display())))?;
            std::fs::File::open(&target)
                .and_then(|f| f.sync_all())
                .map_err(io(format!("cannot sync {}", target.display())))?;
        }
    }
    sync_dir(to)
}

fn sync_dir(dir: &Path) -> Result<(), MigrationError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(format!("cannot sync {}", dir.display())))
}

/// Finishes or discards a migration a crash interrupted (see the module documentation).
fn recover(data_dir: &Path) -> Result<(), MigrationError> {
    let copy = upgrading_dir(data_dir);
    if !copy.exists() {
        return Ok(());
    }
    if !data_dir.exists() && copy.join(COMPLETE_MARK).exists() {
        std::fs::rename(&copy, data_dir).map_err(io(format!(
            "cannot move the migrated {} into place",
            copy.display()
        )))?;
        let _ = std::fs::remove_file(data_dir.join(COMPLETE_MARK));
        tracing::warn!(data = %data_dir.display(), "finished a migration that a crash interrupted");
    } else {
        std::fs::remove_dir_all(&copy).map_err(io(format!(
            "cannot remove the unfinished migration {}",
            copy.display()
        )))?;
        tracing::warn!(copy = %copy.display(), "removed a migration a crash cut short; the database was untouched");
    }
    if let Some(parent) = data_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

/// What [`open_migrated`] did besides opening.
#[derive(Debug, Clone, Default)]
pub struct Migrated {
    /// Where the database from before the migration is kept, when one ran.
    pub kept_previous: Option<PathBuf>,
    pub keys_moved: u64,
}

/// Opens the database in `data_dir`, first migrating its document layout on a copy when an older
/// version wrote it (`region`: the node's region, `None` for the hub). `now_ms` names the kept
/// previous database.
pub fn open_migrated(
    data_dir: &Path,
    cache_bytes: u64,
    region: Option<&str>,
    now_ms: i64,
) -> Result<(SledStore, Migrated), MigrationError> {
    recover(data_dir)?;
    let store = SledStore::open(data_dir, cache_bytes)?;
    if !docs::needs_layout_upgrade(&store)? {
        return Ok((store, Migrated::default()));
    }
    let from = docs::stored_layout(&store)?;
    drop(store);
    let failed = |reason: String| MigrationError::Failed {
        data: data_dir.display().to_string(),
        from: from.clone(),
        reason,
    };
    let copy = upgrading_dir(data_dir);
    let migrated = (|| {
        copy_database(data_dir, &copy)?;
        let store: Arc<dyn Store> = Arc::new(SledStore::open(&copy, cache_bytes)?);
        let gc = GroupCommit::new(store.clone());
        let report =
            docs::upgrade_layout(&*store, &gc, region).map_err(|e| failed(e.to_string()))?;
        store.flush()?;
        drop(gc);
        drop(store);
        std::fs::write(copy.join(COMPLETE_MARK), b"")
            .map_err(io(format!("cannot mark {}", copy.display())))?;
        sync_dir(&copy)?;
        Ok::<_, MigrationError>(report)
    })();
    let report = match migrated {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&copy);
            return Err(match e {
                MigrationError::Failed { .. } => e,
                other => failed(other.to_string()),
            });
        }
    };
    let kept = sibling(
        data_dir,
        &format!(
            ".before-layout-{from}-{}",
            crate::backup::human_time(now_ms)
                .replace([' ', ':'], "")
                .replace("UTC", "Z")
        ),
    );
    std::fs::rename(data_dir, &kept).map_err(io(format!(
        "cannot keep the previous database as {}",
        kept.display()
    )))?;
    std::fs::rename(&copy, data_dir).map_err(io(format!(
        "cannot move the migrated {} into place",
        copy.display()
    )))?;
    let _ = std::fs::remove_file(data_dir.join(COMPLETE_MARK));
    if let Some(parent) = data_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    tracing::warn!(
        data = %data_dir.display(),
        previous = %kept.display(),
        keys = report.keys_moved,
        "the database was migrated from layout {from} to {}; the previous one is kept beside it (remove it once this version runs well)",
        docs::DOC_LAYOUT_VERSION
    );
    let store = SledStore::open(data_dir, cache_bytes)?;
    Ok((
        store,
        Migrated {
            kept_previous: Some(kept),
            keys_moved: report.keys_moved,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WriteBatch;

    /// A store as layout 1 left it: a region's documents without their region.
    fn layout1(dir: &Path) {
        let store = SledStore::open(dir, 8 << 20).unwrap();
        let mut b = WriteBatch::new();
        b.put(b"doc/card/AST-2026-000001/s".to_vec(), b"snapshot".to_vec());
        b.put(
            b"idx/heads/card/AST-2026-000001".to_vec(),
            b"heads".to_vec(),
        );
        b.put(b"acct/admin".to_vec(), b"account".to_vec());
        store.apply(b).unwrap();
        store.flush().unwrap();
    }

    /// Every key and value, as the previous version reads them.
    fn contents(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
        SledStore::open(dir, 8 << 20)
            .unwrap()
            .scan_prefix(b"")
            .unwrap()
    }

    #[test]
    fn a_failed_migration_leaves_the_old_database_untouched() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        layout1(&data);
        let before = contents(&data);
        // Without a region (the hub's open) layout 1 cannot be migrated.
        let err = open_migrated(&data, 8 << 20, None, 0).err().unwrap();
        assert!(matches!(err, MigrationError::Failed { .. }), "{err}");
        assert!(err.to_string().contains("left untouched"), "{err}");
        // sled rewrites its own bookkeeping whenever any version opens a database; what the
        // database holds is what counts.
        assert!(
            contents(&data) == before,
            "the old database's contents changed"
        );
        assert!(!upgrading_dir(&data).exists(), "the copy is removed");
        // And it still opens with its old layout.
        let store = SledStore::open(&data, 8 << 20).unwrap();
        assert!(store.get(b"doc/card/AST-2026-000001/s").unwrap().is_some());
    }

    #[test]
    fn a_migration_keeps_the_previous_database_and_an_interrupted_one_is_finished_or_discarded() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        layout1(&data);
        let (store, migrated) = open_migrated(&data, 8 << 20, Some("AST"), 0).unwrap();
        assert_eq!(migrated.keys_moved, 2);
        assert!(store
            .get(b"doc/AST/card/AST-2026-000001/s")
            .unwrap()
            .is_some());
        drop(store);
        let kept = migrated.kept_previous.unwrap();
        assert!(kept.to_string_lossy().contains("data.before-layout-1-"));
        let old = SledStore::open(&kept, 8 << 20).unwrap();
        assert!(old.get(b"doc/card/AST-2026-000001/s").unwrap().is_some());
        drop(old);
        // Opening again migrates nothing.
        let (_, again) = open_migrated(&data, 8 << 20, Some("AST"), 0).unwrap();
        assert!(again.kept_previous.is_none());

        // A crash between the two renames: no data dir, a complete copy.
        let data2 = root.path().join("second");
        layout1(&data2);
        copy_database(&data2, &upgrading_dir(&data2)).unwrap();
        std::fs::write(upgrading_dir(&data2).join(COMPLETE_MARK), b"").unwrap();
        std::fs::rename(&data2, root.path().join("second.before")).unwrap();
        let (store, _) = open_migrated(&data2, 8 << 20, Some("AST"), 0).unwrap();
        assert!(
            store.get(b"acct/admin").unwrap().is_some(),
            "the copy took its place"
        );
        drop(store);
        // A copy cut short: removed, the original opens.
        std::fs::create_dir_all(upgrading_dir(&data2)).unwrap();
        std::fs::write(upgrading_dir(&data2).join("db"), b"half").unwrap();
        let (store, _) = open_migrated(&data2, 8 << 20, Some("AST"), 0).unwrap();
        assert!(store.get(b"acct/admin").unwrap().is_some());
        assert!(!upgrading_dir(&data2).exists());
    }
}
