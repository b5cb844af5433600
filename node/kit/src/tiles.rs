//! Map tiles from a PMTiles v3 file (<https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md>),
//! read synchronously from a local file, so that the node (and the hub) serve their own map cut
//! off from the internet.
//!
//! Why not the `pmtiles` crate: its reader is async only (`AsyncPmTilesReader` over tokio mmap,
//! reqwest, S3 backends) with async-compression, hilbert_2d and varint crates behind it; what we
//! need is a positioned read of one local file, gzip'd directories (flate2, already in the
//! workspace) and a Hilbert tile id, which is a page of code with every limit named here.
//!
//! [`TileSet::open`] validates the header (magic, version 3, compression, tile type, zooms,
//! bounds, every section inside the file) and the root directory (entries inside their sections,
//! leaf pointers inside the leaf section) before the server starts; a leaf directory is read and
//! checked the same way on first use and kept in a small cache. Every error names the file.
//! [`write_pmtiles`] makes a small valid file (one root directory, or leaves of a given size) for
//! tests and for `examples/make_tiles.rs`.

use std::fs::File;
use std::io::{Read, Write};
use std::num::NonZeroUsize;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// Size of the fixed header at the start of the file, bytes.
pub const HEADER_BYTES: usize = 127;
/// The header and the root directory must lie within the file's first 16 KiB (spec v3), bytes.
pub const ROOT_REGION_BYTES_MAX: u64 = 16_384;
/// Largest leaf directory read, as stored, bytes.
pub const LEAF_DIRECTORY_BYTES_MAX: u64 = 4 << 20;
/// Largest directory after decompression, bytes (a directory entry is at most ~30 bytes).
pub const DIRECTORY_DECOMPRESSED_BYTES_MAX: u64 = 32 << 20;
/// Most entries in one directory.
pub const DIRECTORY_ENTRIES_MAX: u64 = 1 << 20;
/// Leaf directories nested below the root at most (the spec's writers use one level).
pub const LEAF_DEPTH_MAX: usize = 3;
/// Largest tile served, bytes.
pub const TILE_BYTES_MAX: u64 = 8 << 20;
/// Highest zoom level a tile id can address here.
pub const ZOOM_MAX: u8 = 30;
/// Parsed leaf directories kept in memory.
pub const LEAF_CACHE_ENTRIES: usize = 64;

const MAGIC: &[u8; 7] = b"PMTiles";
const VERSION: u8 = 3;

/// Compression of directories and metadata (internal) or of tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    None,
    Gzip,
    Brotli,
    Zstd,
}

impl Compression {
    fn from_byte(b: u8) -> Option<Compression> {
        match b {
            1 => Some(Compression::None),
            2 => Some(Compression::Gzip),
            3 => Some(Compression::Brotli),
            4 => Some(Compression::Zstd),
            _ => None,
        }
    }
    fn byte(self) -> u8 {
        match self {
            Compression::None => 1,
            Compression::Gzip => 2,
            Compression::Brotli => 3,
            Compression::Zstd => 4,
        }
    }
    /// The HTTP `Content-Encoding` a tile so compressed is served with.
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Brotli => Some("br"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

/// What a tile is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TileType {
    Mvt,
    Png,
    Jpeg,
    Webp,
    Avif,
}

impl TileType {
    fn from_byte(b: u8) -> Option<TileType> {
        match b {
            1 => Some(TileType::Mvt),
            2 => Some(TileType::Png),
            3 => Some(TileType::Jpeg),
            4 => Some(TileType::Webp),
            5 => Some(TileType::Avif),
            _ => None,
        }
    }
    fn byte(self) -> u8 {
        match self {
            TileType::Mvt => 1,
            TileType::Png => 2,
            TileType::Jpeg => 3,
            TileType::Webp => 4,
            TileType::Avif => 5,
        }
    }
    /// The HTTP `Content-Type` of such a tile.
    pub fn content_type(self) -> &'static str {
        match self {
            TileType::Mvt => "application/vnd.mapbox-vector-tile",
            TileType::Png => "image/png",
            TileType::Jpeg => "image/jpeg",
            TileType::Webp => "image/webp",
            TileType::Avif => "image/avif",
        }
    }
    /// Whether a browser can draw it as an image (Leaflet's tile layer); vector tiles need a
    /// renderer the kit does not have.
    pub fn is_raster(self) -> bool {
        !matches!(self, TileType::Mvt)
    }
}

/// The validated header: what the map's configuration tells the browser.
#[derive(Debug, Clone, PartialEq)]
pub struct TileHeader {
    pub tile_type: TileType,
    pub tile_compression: Compression,
    pub min_zoom: u8,
    pub max_zoom: u8,
    /// `[west, south, east, north]`, degrees.
    pub bounds: [f64; 4],
    /// `[lat, lon, zoom]`.
    pub center: [f64; 3],
}

/// A tile file that cannot be used, with the file's name in its message.
#[derive(Debug, thiserror::Error)]
#[error("tile file {}: {problem}", path.display())]
pub struct TileError {
    pub path: PathBuf,
    pub problem: TileProblem,
}

/// What is wrong with a tile file.
#[derive(Debug, thiserror::Error)]
pub enum TileProblem {
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    #[error("it is not a PMTiles file (shorter than the {HEADER_BYTES}-byte header or no \"PMTiles\" magic)")]
    NotPmtiles,
    #[error("PMTiles version {0} is not supported (only version 3)")]
    Version(u8),
    #[error("{0} compression byte {1} is unknown or not supported")]
    Compression(&'static str, u8),
    #[error("tile type byte {0} is not png, jpeg, webp, avif or mvt")]
    TileType(u8),
    #[error("zoom levels {0}..{1} are not within 0..{ZOOM_MAX} in order")]
    Zoom(u8, u8),
    #[error("bounds or centre out of range: {0}")]
    Bounds(String),
    #[error("the {0} section lies outside the file or where the spec does not allow it")]
    Section(&'static str),
    #[error("a directory is corrupt: {0}")]
    Directory(String),
    #[error("it holds no tiles")]
    Empty,
}

/// An open tile file: header and root directory validated, leaves read on demand.
#[derive(Debug)]
pub struct TileSet {
    path: PathBuf,
    file: File,
    header: TileHeader,
    leaf_section: Section,
    tile_section: Section,
    internal: Compression,
    root: Arc<Directory>,
    leaves: Mutex<lru::LruCache<u64, Arc<Directory>>>,
}

#[derive(Debug, Clone, Copy)]
struct Section {
    offset: u64,
    length: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    tile_id: u64,
    offset: u64,
    length: u64,
    /// 0: a pointer to a leaf directory.
    run_length: u32,
}

#[derive(Debug)]
struct Directory(Vec<Entry>);

impl TileSet {
    /// Opens and validates `path` (see the module documentation).
    pub fn open(path: &Path) -> Result<TileSet, TileError> {
        let fail = |problem: TileProblem| TileError {
            path: path.to_path_buf(),
            problem,
        };
        let file = File::open(path).map_err(|e| fail(e.into()))?;
        let size = file.metadata().map_err(|e| fail(e.into()))?.len();
        if size < HEADER_BYTES as u64 {
            return Err(fail(TileProblem::NotPmtiles));
        }
        let mut head = [0u8; HEADER_BYTES];
        file.read_exact_at(&mut head, 0)
            .map_err(|e| fail(e.into()))?;
        let parsed = parse_header(&head, size).map_err(fail)?;
        let set = TileSet {
            path: path.to_path_buf(),
            file,
            header: parsed.header,
            leaf_section: parsed.leaves,
            tile_section: parsed.tiles,
            internal: parsed.internal,
            root: Arc::new(Directory(Vec::new())),
            leaves: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(LEAF_CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN),
            )),
        };
        let root = set.read_directory(parsed.root, parsed.root.length)?;
        if root.0.is_empty() {
            return Err(fail(TileProblem::Empty));
        }
        Ok(TileSet {
            root: Arc::new(root),
            ..set
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn header(&self) -> &TileHeader {
        &self.header
    }

    /// The tile at `z/x/y` as stored (compressed as `header().tile_compression` says), `None`
    /// when the file has none there or the coordinates are outside the tile grid; an error only
    /// when a leaf directory or the read itself fails.
    pub fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<Vec<u8>>, TileError> {
        let Some(id) = tile_id(z, x, y) else {
            return Ok(None);
        };
        let mut dir = self.root.clone();
        for _ in 0..=LEAF_DEPTH_MAX {
            let Some(e) = find(&dir.0, id) else {
                return Ok(None);
            };
            if e.run_length > 0 {
                let mut buf = vec![0u8; e.length as usize];
                self.file
                    .read_exact_at(&mut buf, self.tile_section.offset + e.offset)
                    .map_err(|err| self.fail(err.into()))?;
                return Ok(Some(buf));
            }
            dir = self.leaf(e)?;
        }
        Err(self.fail(TileProblem::Directory(format!(
            "leaf directories nest deeper than {LEAF_DEPTH_MAX}"
        ))))
    }

    fn fail(&self, problem: TileProblem) -> TileError {
        TileError {
            path: self.path.clone(),
            problem,
        }
    }

    fn leaf(&self, e: Entry) -> Result<Arc<Directory>, TileError> {
        let key = e.offset;
        if let Some(d) = self.lock_leaves().get(&key) {
            return Ok(d.clone());
        }
        let section = Section {
            offset: self.leaf_section.offset + e.offset,
            length: e.length,
        };
        let dir = Arc::new(self.read_directory(section, LEAF_DIRECTORY_BYTES_MAX)?);
        self.lock_leaves().put(key, dir.clone());
        Ok(dir)
    }

    fn lock_leaves(&self) -> std::sync::MutexGuard<'_, lru::LruCache<u64, Arc<Directory>>> {
        self.leaves.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_directory(&self, at: Section, bytes_max: u64) -> Result<Directory, TileError> {
        if at.length == 0 || at.length > bytes_max {
            return Err(self.fail(TileProblem::Directory(format!(
                "a directory of {} bytes (1 to {bytes_max} allowed)",
                at.length
            ))));
        }
        let mut raw = vec![0u8; at.length as usize];
        self.file
            .read_exact_at(&mut raw, at.offset)
            .map_err(|e| self.fail(e.into()))?;
        // `parse_header` admits only none and gzip for directories.
        let plain = if self.internal == Compression::Gzip {
            gunzip(&raw).map_err(|e| self.fail(TileProblem::Directory(e)))?
        } else {
            raw
        };
        let entries = parse_directory(&plain).map_err(|e| self.fail(TileProblem::Directory(e)))?;
        for e in &entries {
            let (section, what) = if e.run_length == 0 {
                (self.leaf_section, "leaf directory")
            } else {
                (self.tile_section, "tile")
            };
            let inside = e.length > 0
                && e.offset
                    .checked_add(e.length)
                    .is_some_and(|end| end <= section.length);
            if !inside {
                return Err(self.fail(TileProblem::Directory(format!(
                    "a {what} entry (tile id {}) points outside its section",
                    e.tile_id
                ))));
            }
            if e.run_length > 0 && e.length > TILE_BYTES_MAX {
                return Err(self.fail(TileProblem::Directory(format!(
                    "tile id {} is {} bytes (at most {TILE_BYTES_MAX})",
                    e.tile_id, e.length
                ))));
            }
        }
        Ok(Directory(entries))
    }
}

struct ParsedHeader {
    header: TileHeader,
    internal: Compression,
    root: Section,
    leaves: Section,
    tiles: Section,
}

fn parse_header(b: &[u8; HEADER_BYTES], file_bytes: u64) -> Result<ParsedHeader, TileProblem> {
    if &b[0..7] != MAGIC {
        return Err(TileProblem::NotPmtiles);
    }
    if b[7] != VERSION {
        return Err(TileProblem::Version(b[7]));
    }
    let u64_at = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(a)
    };
    let deg_at = |i: usize| {
        let mut a = [0u8; 4];
        a.copy_from_slice(&b[i..i + 4]);
        f64::from(i32::from_le_bytes(a)) / 1e7
    };
    let section = |i: usize, name: &'static str| {
        let s = Section {
            offset: u64_at(i),
            length: u64_at(i + 8),
        };
        let inside = s.offset >= HEADER_BYTES as u64
            && s.offset
                .checked_add(s.length)
                .is_some_and(|end| end <= file_bytes);
        if inside || (s.length == 0 && name != "root directory") {
            Ok(s)
        } else {
            Err(TileProblem::Section(name))
        }
    };
    let root = section(8, "root directory")?;
    if root.offset + root.length > ROOT_REGION_BYTES_MAX {
        return Err(TileProblem::Section("root directory"));
    }
    section(24, "metadata")?;
    let leaves = section(40, "leaf directories")?;
    let tiles = section(56, "tile data")?;
    let internal = match Compression::from_byte(b[97]) {
        Some(c @ (Compression::None | Compression::Gzip)) => c,
        _ => return Err(TileProblem::Compression("directory", b[97])),
    };
    let tile_compression =
        Compression::from_byte(b[98]).ok_or(TileProblem::Compression("tile", b[98]))?;
    let tile_type = TileType::from_byte(b[99]).ok_or(TileProblem::TileType(b[99]))?;
    let (min_zoom, max_zoom) = (b[100], b[101]);
    if min_zoom > max_zoom || max_zoom > ZOOM_MAX {
        return Err(TileProblem::Zoom(min_zoom, max_zoom));
    }
    let bounds = [deg_at(102), deg_at(106), deg_at(110), deg_at(114)];
    let lon_ok = |v: f64| (-180.0..=180.0).contains(&v);
    let lat_ok = |v: f64| (-90.0..=90.0).contains(&v);
    let [w, s, e, n] = bounds;
    if !(lon_ok(w) && lon_ok(e) && lat_ok(s) && lat_ok(n) && w < e && s < n) {
        return Err(TileProblem::Bounds(format!(
            "[{w}, {s}, {e}, {n}] is not a west < east, south < north box"
        )));
    }
    let (c_zoom, c_lon, c_lat) = (b[118], deg_at(119), deg_at(123));
    if !(lon_ok(c_lon) && lat_ok(c_lat)) {
        return Err(TileProblem::Bounds(format!("centre {c_lat}, {c_lon}")));
    }
    Ok(ParsedHeader {
        header: TileHeader {
            tile_type,
            tile_compression,
            min_zoom,
            max_zoom,
            bounds,
            center: [c_lat, c_lon, f64::from(c_zoom.clamp(min_zoom, max_zoom))],
        },
        internal,
        root,
        leaves,
        tiles,
    })
}

fn gunzip(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(raw)
        .take(DIRECTORY_DECOMPRESSED_BYTES_MAX + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    if out.len() as u64 > DIRECTORY_DECOMPRESSED_BYTES_MAX {
        return Err(format!(
            "more than {DIRECTORY_DECOMPRESSED_BYTES_MAX} bytes decompressed"
        ));
    }
    Ok(out)
}

fn read_varint(b: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let Some(&byte) = b.get(*at) else {
            return Err("a number runs past the end".into());
        };
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("a number is longer than 64 bits".into())
}

fn parse_directory(b: &[u8]) -> Result<Vec<Entry>, String> {
    let mut at = 0;
    let n = read_varint(b, &mut at)?;
    if n > DIRECTORY_ENTRIES_MAX || n > b.len() as u64 {
        return Err(format!("{n} entries (at most {DIRECTORY_ENTRIES_MAX})"));
    }
    let n = n as usize;
    let mut entries = vec![
        Entry {
            tile_id: 0,
            offset: 0,
            length: 0,
            run_length: 0
        };
        n
    ];
    let mut last = 0u64;
    for (i, e) in entries.iter_mut().enumerate() {
        let delta = read_varint(b, &mut at)?;
        if i > 0 && delta == 0 {
            return Err("tile ids are not increasing".into());
        }
        last = last
            .checked_add(delta)
            .ok_or("a tile id overflows 64 bits")?;
        e.tile_id = last;
    }
    for e in entries.iter_mut() {
        e.run_length = u32::try_from(read_varint(b, &mut at)?).map_err(|_| "a run is too long")?;
    }
    for e in entries.iter_mut() {
        e.length = read_varint(b, &mut at)?;
    }
    for i in 0..n {
        let v = read_varint(b, &mut at)?;
        entries[i].offset = if v == 0 && i > 0 {
            let p = entries[i - 1];
            p.offset
                .checked_add(p.length)
                .ok_or("an offset overflows 64 bits")?
        } else {
            v.checked_sub(1).ok_or("the first offset is missing")?
        };
    }
    if at != b.len() {
        return Err(format!("{} bytes after the last entry", b.len() - at));
    }
    Ok(entries)
}

/// The entry that holds `id`: the last one starting at or before it, if its run covers `id`
/// (a leaf pointer covers everything up to the next entry).
fn find(entries: &[Entry], id: u64) -> Option<Entry> {
    let i = entries
        .partition_point(|e| e.tile_id <= id)
        .checked_sub(1)?;
    let e = entries[i];
    (e.run_length == 0 || id < e.tile_id + u64::from(e.run_length)).then_some(e)
}

/// Whether `z/x/y` names a tile of the grid: `z ≤ ZOOM_MAX` and `x, y < 2^z`.
pub fn in_grid(z: u8, x: u32, y: u32) -> bool {
    z <= ZOOM_MAX && u64::from(x) < (1u64 << z) && u64::from(y) < (1u64 << z)
}

/// The PMTiles tile id: tiles of lower zooms first, then the Hilbert curve position in zoom `z`.
pub fn tile_id(z: u8, x: u32, y: u32) -> Option<u64> {
    if !in_grid(z, x, y) {
        return None;
    }
    let base = ((1u64 << (2 * u32::from(z))) - 1) / 3;
    let (mut x, mut y) = (u64::from(x), u64::from(y));
    let mut d = 0u64;
    let mut s = if z == 0 { 0 } else { 1u64 << (z - 1) };
    while s > 0 {
        let rx = u64::from(x & s > 0);
        let ry = u64::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        // Rotate the quadrant so the curve continues; only the bits below `s` matter from here.
        x &= s - 1;
        y &= s - 1;
        if ry == 0 {
            if rx == 1 {
                x = s - 1 - x;
                y = s - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s >>= 1;
    }
    Some(base + d)
}

/// How [`write_pmtiles_with`] lays the file out.
#[derive(Debug, Clone, Copy)]
pub struct WriteLayout {
    /// Tiles per leaf directory; `None`: every tile in the root directory.
    pub leaf_entries: Option<usize>,
    /// The header's centre zoom; `None`: the lowest zoom.
    pub center_zoom: Option<u8>,
}

/// Writes a PMTiles v3 file of `tiles` (`z, x, y, bytes`, stored uncompressed, gzip'd
/// directories) with the header's bounds and zooms taken from the tiles: for tests and
/// `examples/make_tiles.rs`.
pub fn write_pmtiles(
    path: &Path,
    tiles: &[(u8, u32, u32, Vec<u8>)],
    tile_type: TileType,
) -> std::io::Result<()> {
    write_pmtiles_with(
        path,
        tiles,
        tile_type,
        WriteLayout {
            leaf_entries: None,
            center_zoom: None,
        },
    )
}

/// [`write_pmtiles`] with a chosen layout.
pub fn write_pmtiles_with(
    path: &Path,
    tiles: &[(u8, u32, u32, Vec<u8>)],
    tile_type: TileType,
    layout: WriteLayout,
) -> std::io::Result<()> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, m.to_string());
    let mut sorted = Vec::with_capacity(tiles.len());
    for (z, x, y, bytes) in tiles {
        let id = tile_id(*z, *x, *y).ok_or_else(|| bad("a tile outside the grid"))?;
        sorted.push((id, *z, *x, *y, bytes));
    }
    sorted.sort_by_key(|t| t.0);
    if sorted.is_empty() || sorted.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(bad("no tiles, or a tile twice"));
    }
    let mut data = Vec::new();
    let mut entries = Vec::new();
    for (id, _, _, _, bytes) in &sorted {
        entries.push(Entry {
            tile_id: *id,
            offset: data.len() as u64,
            length: bytes.len() as u64,
            run_length: 1,
        });
        data.extend_from_slice(bytes);
    }
    let (root, leaves) = match layout.leaf_entries {
        None => (gzip(&encode_directory(&entries))?, Vec::new()),
        Some(per_leaf) => {
            let mut leaves = Vec::new();
            let mut pointers = Vec::new();
            for chunk in entries.chunks(per_leaf.max(1)) {
                let leaf = gzip(&encode_directory(chunk))?;
                pointers.push(Entry {
                    tile_id: chunk[0].tile_id,
                    offset: leaves.len() as u64,
                    length: leaf.len() as u64,
                    run_length: 0,
                });
                leaves.extend_from_slice(&leaf);
            }
            (gzip(&encode_directory(&pointers))?, leaves)
        }
    };
    let metadata = gzip(b"{}")?;
    let (min_zoom, max_zoom) = (
        sorted.iter().map(|t| t.1).min().unwrap_or(0),
        sorted.iter().map(|t| t.1).max().unwrap_or(0),
    );
    let mut west_south_east_north = [180.0f64, 90.0, -180.0, -90.0];
    for (_, z, x, y, _) in &sorted {
        let [w, s, e, n] = tile_bounds(*z, *x, *y);
        let b = &mut west_south_east_north;
        b[0] = b[0].min(w);
        b[1] = b[1].min(s);
        b[2] = b[2].max(e);
        b[3] = b[3].max(n);
    }
    let [w, s, e, n] = west_south_east_north;
    let root_offset = HEADER_BYTES as u64;
    let metadata_offset = root_offset + root.len() as u64;
    let leaves_offset = metadata_offset + metadata.len() as u64;
    let data_offset = leaves_offset + leaves.len() as u64;
    let mut h = Vec::with_capacity(HEADER_BYTES);
    h.extend_from_slice(MAGIC);
    h.push(VERSION);
    for v in [
        root_offset,
        root.len() as u64,
        metadata_offset,
        metadata.len() as u64,
        leaves_offset,
        leaves.len() as u64,
        data_offset,
        data.len() as u64,
        entries.len() as u64,
        entries.len() as u64,
        entries.len() as u64,
    ] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    h.push(1); // clustered: tiles are in tile id order
    h.push(Compression::Gzip.byte());
    h.push(Compression::None.byte());
    h.push(tile_type.byte());
    h.push(min_zoom);
    h.push(max_zoom);
    let e7 = |v: f64| ((v * 1e7).round() as i32).to_le_bytes();
    for v in [w, s, e, n] {
        h.extend_from_slice(&e7(v));
    }
    h.push(layout.center_zoom.unwrap_or(min_zoom));
    h.extend_from_slice(&e7((w + e) / 2.0));
    h.extend_from_slice(&e7((s + n) / 2.0));
    debug_assert_eq!(h.len(), HEADER_BYTES);
    let mut f = File::create(path)?;
    for part in [&h, &root, &metadata, &leaves, &data] {
        f.write_all(part)?;
    }
    f.sync_all()
}

/// `[west, south, east, north]` of a Web Mercator tile, degrees.
pub fn tile_bounds(z: u8, x: u32, y: u32) -> [f64; 4] {
    let n = f64::from(1u32 << z.min(31));
    let lon = |x: f64| x / n * 360.0 - 180.0;
    let lat = |y: f64| {
        let m = std::f64::consts::PI * (1.0 - 2.0 * y / n);
        m.sinh().atan().to_degrees()
    };
    let (x, y) = (f64::from(x), f64::from(y));
    [lon(x), lat(y + 1.0), lon(x + 1.0), lat(y)]
}

/// The tile at zoom `z` that holds `lat, lon` (Web Mercator), as `(x, y)`.
pub fn tile_at(z: u8, lat: f64, lon: f64) -> (u32, u32) {
    let n = f64::from(1u32 << z.min(31));
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let r = lat.to_radians();
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    let clamp = |v: f64| v.clamp(0.0, n - 1.0) as u32;
    (clamp(x), clamp(y))
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn encode_directory(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    write_varint(&mut out, entries.len() as u64);
    let mut last = 0;
    for e in entries {
        write_varint(&mut out, e.tile_id - last);
        last = e.tile_id;
    }
    for e in entries {
        write_varint(&mut out, u64::from(e.run_length));
    }
    for e in entries {
        write_varint(&mut out, e.length);
    }
    for (i, e) in entries.iter().enumerate() {
        let follows = i > 0 && e.offset == entries[i - 1].offset + entries[i - 1].length;
        write_varint(&mut out, if follows { 0 } else { e.offset + 1 });
    }
    out
}

fn gzip(b: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(b)?;
    enc.finish()
}

// ------------------------------------------------------------------------------ HTTP

/// How long a browser keeps a tile before asking again: the file changes only when the
/// installer replaces it and the server restarts, seconds.
pub const TILE_MAX_AGE_S: u32 = 86_400;

/// The URL template of the tiles both servers serve (Leaflet's `{z}/{x}/{y}`).
pub const TILE_URL: &str = "/tiles/{z}/{x}/{y}";

/// `GET /api/v1/map/config`: whether the server has a tile layer and where it lies. Without
/// one (or with vector tiles, which the kit cannot draw) the map shows the district outlines.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MapConfig {
    /// A raster tile layer is served at `tile_url`.
    pub tiles: bool,
    pub tile_url: &'static str,
    pub min_zoom: u8,
    pub max_zoom: u8,
    /// `[west, south, east, north]` of the tiles, degrees; `null` without tiles.
    pub bounds: Option<[f64; 4]>,
    /// `[lat, lon, zoom]` to open the map at; `null` without tiles (fit the outlines).
    pub center: Option<[f64; 3]>,
}

/// Zoom levels the outline-only map allows.
pub const OUTLINE_ZOOM_MIN: u8 = 4;
pub const OUTLINE_ZOOM_MAX: u8 = 18;

impl MapConfig {
    pub fn of(set: Option<&TileSet>) -> MapConfig {
        match set.map(TileSet::header).filter(|h| h.tile_type.is_raster()) {
            Some(h) => MapConfig {
                tiles: true,
                tile_url: TILE_URL,
                min_zoom: h.min_zoom,
                max_zoom: h.max_zoom,
                bounds: Some(h.bounds),
                center: Some(h.center),
            },
            None => MapConfig {
                tiles: false,
                tile_url: TILE_URL,
                min_zoom: OUTLINE_ZOOM_MIN,
                max_zoom: OUTLINE_ZOOM_MAX,
                bounds: None,
                center: None,
            },
        }
    }
}

/// `GET /tiles/{z}/{x}/{y}` for either server: the tile's bytes with the file's content type
/// (and `Content-Encoding` when the file stores tiles compressed), 400 for coordinates outside
/// the tile grid, 404 for a tile the file lacks or when there is no tile file.
pub async fn tile_response(
    set: Option<Arc<TileSet>>,
    z: &str,
    x: &str,
    y: &str,
) -> axum::response::Response {
    use crate::web::ApiError;
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let (Ok(zn), Ok(xn), Ok(yn)) = (z.parse::<u8>(), x.parse::<u32>(), y.parse::<u32>()) else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_tile",
            "z, x and y must be whole numbers",
        )
        .into_response();
    };
    if !in_grid(zn, xn, yn) {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_tile",
            format!("{zn}/{xn}/{yn} is outside the tile grid (zoom at most {ZOOM_MAX}, x and y below 2^zoom)"),
        )
        .into_response();
    }
    let Some(set) = set else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "no_tiles",
            "this server has no tile file",
        )
        .into_response();
    };
    let h = set.header().clone();
    let read = tokio::task::spawn_blocking(move || set.tile(zn, xn, yn)).await;
    match read {
        Ok(Ok(Some(bytes))) => {
            let mut headers = vec![
                (header::CONTENT_TYPE, h.tile_type.content_type().to_string()),
                (
                    header::CACHE_CONTROL,
                    format!("public, max-age={TILE_MAX_AGE_S}"),
                ),
            ];
            if let Some(enc) = h.tile_compression.content_encoding() {
                headers.push((header::CONTENT_ENCODING, enc.to_string()));
            }
            let mut resp = bytes.into_response();
            for (k, v) in headers {
                if let Ok(v) = header::HeaderValue::from_str(&v) {
                    resp.headers_mut().insert(k, v);
                }
            }
            resp
        }
        Ok(Ok(None)) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no tile there").into_response()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "a tile cannot be read");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "tiles_unreadable",
                "the tile file cannot be read",
            )
            .into_response()
        }
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "tiles_unreadable",
            "the tile read failed",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    /// Tiles around Astana at zooms 10..=11 whose bytes name their coordinates.
    fn sample() -> Vec<(u8, u32, u32, Vec<u8>)> {
        let mut out = Vec::new();
        for z in 10..=11u8 {
            let (x0, y0) = tile_at(z, 51.17, 71.40);
            for dx in 0..2 {
                for dy in 0..2 {
                    let (x, y) = (x0 + dx, y0 + dy);
                    out.push((z, x, y, format!("tile {z}/{x}/{y}").into_bytes()));
                }
            }
        }
        out
    }

    #[test]
    fn tile_ids_follow_the_spec_hilbert_order() {
        for (z, x, y, id) in [
            (0, 0, 0, 0),
            (1, 0, 0, 1),
            (1, 0, 1, 2),
            (1, 1, 1, 3),
            (1, 1, 0, 4),
            (2, 0, 0, 5),
            (3, 0, 0, 21),
            (3, 7, 0, 84),
        ] {
            assert_eq!(tile_id(z, x, y), Some(id), "{z}/{x}/{y}");
        }
        // Every zoom's ids are a permutation of its range, and neighbours on the curve touch.
        for z in 1..=5u8 {
            let n = 1u32 << z;
            let base = tile_id(z, 0, 0).unwrap_or(0);
            let mut by_id = vec![None; (n * n) as usize];
            for x in 0..n {
                for y in 0..n {
                    let i = (tile_id(z, x, y).unwrap_or(0) - base) as usize;
                    assert!(by_id[i].is_none(), "{z}/{x}/{y} repeats an id");
                    by_id[i] = Some((x, y));
                }
            }
            for w in by_id.windows(2) {
                let (a, b) = (w[0].unwrap_or((0, 0)), w[1].unwrap_or((0, 0)));
                assert_eq!(a.0.abs_diff(b.0) + a.1.abs_diff(b.1), 1, "zoom {z}");
            }
        }
        assert_eq!(tile_id(2, 4, 0), None);
        assert_eq!(tile_id(ZOOM_MAX + 1, 0, 0), None);
    }

    #[test]
    fn a_written_file_reads_back_with_its_header_and_tiles() {
        let dir = tmp();
        for (name, leaf_entries) in [("root.pmtiles", None), ("leaves.pmtiles", Some(3))] {
            let path = dir.path().join(name);
            let tiles = sample();
            write_pmtiles_with(
                &path,
                &tiles,
                TileType::Png,
                WriteLayout {
                    leaf_entries,
                    center_zoom: Some(11),
                },
            )
            .expect("write");
            let set = TileSet::open(&path).expect("open");
            let h = set.header();
            assert_eq!(h.tile_type, TileType::Png);
            assert_eq!(h.tile_compression, Compression::None);
            assert_eq!((h.min_zoom, h.max_zoom), (10, 11));
            let [w, s, e, n] = h.bounds;
            assert!(
                w < 71.40 && 71.40 < e && s < 51.17 && 51.17 < n,
                "{:?}",
                h.bounds
            );
            assert_eq!(h.center[2], 11.0);
            for (z, x, y, bytes) in &tiles {
                assert_eq!(set.tile(*z, *x, *y).expect("read").as_ref(), Some(bytes));
            }
            let (x0, y0) = tile_at(11, 51.17, 71.40);
            assert_eq!(set.tile(11, x0 + 5, y0).expect("read"), None);
            assert_eq!(set.tile(12, x0 * 2, y0 * 2).expect("read"), None);
            assert_eq!(set.tile(2, 9, 9).expect("read"), None);
        }
    }

    fn check_refused(bytes: &[u8], expect: &str) {
        let dir = tmp();
        let path = dir.path().join("bad.pmtiles");
        std::fs::write(&path, bytes).expect("write");
        let err = TileSet::open(&path).expect_err("refused").to_string();
        assert!(
            err.contains(&path.display().to_string()) && err.contains(expect),
            "{err} (expected the file's name and {expect:?})"
        );
    }

    fn good_file() -> Vec<u8> {
        let dir = tmp();
        let path = dir.path().join("good.pmtiles");
        write_pmtiles(&path, &sample(), TileType::Png).expect("write");
        std::fs::read(&path).expect("read")
    }

    #[test]
    fn a_corrupt_or_foreign_file_is_refused_naming_the_file() {
        let good = good_file();
        check_refused(b"", "not a PMTiles file");
        check_refused(&good[..100], "not a PMTiles file");
        check_refused(b"\x89PNG\r\n\x1a\n and the rest of an image that is long enough to fill a header of one hundred and twenty-seven bytes......", "not a PMTiles file");
        let mut v = good.clone();
        v[7] = 2;
        check_refused(&v, "version 2");
        // Truncated: the tile data section now runs past the end.
        check_refused(&good[..good.len() - 3], "tile data section lies outside");
        let mut v = good.clone();
        v[99] = 9;
        check_refused(&v, "tile type byte 9");
        let mut v = good.clone();
        v[97] = 3;
        check_refused(&v, "directory compression byte 3");
        let mut v = good.clone();
        v[100] = 12; // min zoom above max zoom
        check_refused(&v, "zoom levels 12..11");
        let mut v = good.clone();
        v[102..106].copy_from_slice(&(200i32 * 10_000_000).to_le_bytes()[..]);
        check_refused(&v, "bounds");
        // The root directory's gzip stream damaged.
        let mut v = good.clone();
        v[HEADER_BYTES + 12] ^= 0xff;
        check_refused(&v, "directory is corrupt");
    }

    #[test]
    fn a_directory_pointing_outside_the_file_is_refused() {
        let dir = tmp();
        let path = dir.path().join("outside.pmtiles");
        let tiles = vec![(10u8, 700u32, 300u32, b"x".to_vec())];
        write_pmtiles(&path, &tiles, TileType::Png).expect("write");
        // Rewrite the root directory: one tile whose bytes lie far past the tile data.
        let id = tile_id(10, 700, 300).unwrap_or(0);
        let bad = gzip(&encode_directory(&[Entry {
            tile_id: id,
            offset: 1_000,
            length: 5,
            run_length: 1,
        }]))
        .expect("gzip");
        let mut v = std::fs::read(&path).expect("read");
        let root_len = u64::from_le_bytes(v[16..24].try_into().unwrap_or_default()) as usize;
        let tail = v.split_off(HEADER_BYTES + root_len);
        v.truncate(HEADER_BYTES);
        let delta = bad.len() as i64 - root_len as i64;
        v[16..24].copy_from_slice(&(bad.len() as u64).to_le_bytes());
        for at in [24, 40, 56] {
            let o = u64::from_le_bytes(v[at..at + 8].try_into().unwrap_or_default());
            v[at..at + 8].copy_from_slice(&((o as i64 + delta) as u64).to_le_bytes());
        }
        v.extend_from_slice(&bad);
        v.extend_from_slice(&tail);
        check_refused(&v, "points outside its section");
    }

    #[test]
    fn a_missing_file_is_refused_naming_it() {
        let dir = tmp();
        let path = dir.path().join("nowhere.pmtiles");
        let err = TileSet::open(&path).expect_err("missing").to_string();
        assert!(
            err.contains("nowhere.pmtiles") && err.contains("cannot read"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_tile_route_answers_bytes_types_and_errors() {
        use axum::http::{header, StatusCode};
        let dir = tmp();
        let path = dir.path().join("t.pmtiles");
        let tiles = sample();
        write_pmtiles(&path, &tiles, TileType::Png).expect("write");
        let set = Some(Arc::new(TileSet::open(&path).expect("open")));
        let (z, x, y, bytes) = &tiles[0];
        let ok = tile_response(set.clone(), &z.to_string(), &x.to_string(), &y.to_string()).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()[header::CONTENT_TYPE], "image/png");
        assert_eq!(ok.headers()[header::CACHE_CONTROL], "public, max-age=86400");
        assert!(ok.headers().get(header::CONTENT_ENCODING).is_none());
        let body = axum::body::to_bytes(ok.into_body(), 1 << 20)
            .await
            .expect("body");
        assert_eq!(&body[..], &bytes[..]);
        for (z, x, y, status) in [
            ("10", "0", "0", StatusCode::NOT_FOUND),
            ("31", "0", "0", StatusCode::BAD_REQUEST),
            ("3", "8", "0", StatusCode::BAD_REQUEST),
            ("3", "0", "-1", StatusCode::BAD_REQUEST),
            ("a", "0", "0", StatusCode::BAD_REQUEST),
        ] {
            assert_eq!(
                tile_response(set.clone(), z, x, y).await.status(),
                status,
                "{z}/{x}/{y}"
            );
        }
        assert_eq!(
            tile_response(None, "10", "0", "0").await.status(),
            StatusCode::NOT_FOUND
        );
        let c = MapConfig::of(set.as_deref());
        assert!(c.tiles);
        assert_eq!((c.min_zoom, c.max_zoom), (10, 11));
        let none = MapConfig::of(None);
        assert!(!none.tiles && none.bounds.is_none() && none.center.is_none());
    }

    #[test]
    fn tile_types_give_content_types_and_encodings() {
        assert_eq!(TileType::Png.content_type(), "image/png");
        assert_eq!(TileType::Webp.content_type(), "image/webp");
        assert!(!TileType::Mvt.is_raster());
        assert_eq!(Compression::Gzip.content_encoding(), Some("gzip"));
        assert_eq!(Compression::None.content_encoding(), None);
    }
}
