//! A small PMTiles file of synthetic 256×256 PNG tiles over the demo region (Astana), zooms
//! 10–13, for the browser tests and demonstrations: `cargo run -p server-kit --example make_tiles
//! -- OUT.pmtiles` (the e2e tests run the built `target/debug/examples/make_tiles`). A generator
//! rather than a committed binary fixture: the bytes stay reviewable and never go stale.
//!
//! Each tile is a pale land colour with a street grid and a darker border, so a screenshot shows
//! where tiles are and that they line up.

use std::io::Write;
use std::path::PathBuf;

use server_kit::tiles::{tile_at, write_pmtiles, TileType};

/// Tile edge, pixels.
const TILE_PX: u32 = 256;
/// The demo region's centre (Astana), degrees.
const CENTER_LAT: f64 = 51.15;
const CENTER_LON: f64 = 71.45;
/// Zoom levels written.
const ZOOMS: std::ops::RangeInclusive<u8> = 10..=13;
/// Half-width of the square of tiles around the centre at zoom 10, tiles (doubling per zoom).
const SPAN_AT_10: u32 = 1;

fn main() -> std::process::ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: make_tiles OUT.pmtiles");
        return std::process::ExitCode::from(2);
    };
    let mut tiles = Vec::new();
    for z in ZOOMS {
        let span = SPAN_AT_10 << (z - 10);
        let (cx, cy) = tile_at(z, CENTER_LAT, CENTER_LON);
        for x in cx.saturating_sub(span)..=cx + span {
            for y in cy.saturating_sub(span)..=cy + span {
                tiles.push((z, x, y, tile_png(z, x, y)));
            }
        }
    }
    match write_pmtiles(&out, &tiles, TileType::Png) {
        Ok(()) => {
            println!("{}: {} tiles, zooms 10-13", out.display(), tiles.len());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: {e}", out.display());
            std::process::ExitCode::FAILURE
        }
    }
}

/// One tile's picture, RGB.
fn tile_png(z: u8, x: u32, y: u32) -> Vec<u8> {
    let land = if (x + y).is_multiple_of(2) {
        [236, 232, 222]
    } else {
        [230, 236, 224]
    };
    let street = [255, 255, 255];
    let border = [190, 185, 175];
    let step = TILE_PX >> (13 - z.min(13)).min(3);
    let mut rgb = Vec::with_capacity((TILE_PX * TILE_PX * 3) as usize);
    for py in 0..TILE_PX {
        for px in 0..TILE_PX {
            let c = if px == 0 || py == 0 {
                border
            } else if step < TILE_PX && (px % step < 3 || py % step < 3) {
                street
            } else {
                land
            };
            rgb.extend_from_slice(&c);
        }
    }
    png_rgb(TILE_PX, TILE_PX, &rgb)
}

/// A minimal PNG encoder: 8-bit RGB, filter 0 on every row, one zlib IDAT.
fn png_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(rgb.len() + height as usize);
    for row in rgb.chunks((width * 3) as usize) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let idat = z
        .write_all(&raw)
        .and_then(|()| z.finish())
        .unwrap_or_default();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", &ihdr), (b"IDAT", &idat), (b"IEND", &Vec::new())] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    png
}
