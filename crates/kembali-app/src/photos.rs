//! Shoppers' photos for returns and claims: the type told by the bytes, never
//! by a name or a `Content-Type`; decoded under limits; turned upright, made
//! at most 2048 pixels on the long side and re-encoded as JPEG, which drops
//! every piece of metadata (EXIF with its GPS position, XMP, comments). Only
//! the re-encoded bytes are stored and ever served.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage};
use jiff::Timestamp;
use kembali_core::{PhotoId, ShopId};
use kembali_store::Tx;
use kembali_store::photos::{self as store, PhotoMeta};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use utoipa::ToSchema;

use crate::error::{Entity, PhotoError};
use crate::{App, AppError};

/// The largest upload taken, in bytes: 10 MiB, more than a phone's photo.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// The stored photo's long side at most, in pixels; larger photos are scaled down.
const MAX_SIDE: u32 = 2048;
/// JPEG quality of the stored photo.
const QUALITY: u8 = 85;
/// Declared dimensions beyond these are refused before anything is decoded.
const MAX_DECLARED_SIDE: u32 = 12_000;
const MAX_MEGAPIXELS: u32 = 50;
/// What one decode may allocate, whatever the image claims (16-bit RGBA of
/// 50 megapixels).
const MAX_DECODED_BYTES: u64 = 400 * 1024 * 1024;

/// Decodes at once in this process: each may hold a few hundred MiB.
static DECODES: Semaphore = Semaphore::const_new(2);

/// A stored photo: what the API answers and a return item refers to by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Photo {
    pub id: PhotoId,
    /// Pixels, after turning upright and scaling down.
    pub width: u32,
    pub height: u32,
    /// The stored JPEG's length in bytes.
    pub size: u64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<PhotoMeta> for Photo {
    fn from(m: PhotoMeta) -> Self {
        Photo {
            id: m.id,
            width: m.width,
            height: m.height,
            size: m.size,
            created_at: m.created_at,
        }
    }
}

/// Checks `body` as a photo, re-encodes it and stores the result in the shop.
/// Refusals are [`AppError::Photo`], and store nothing.
pub async fn upload(app: &App, shop: ShopId, body: &[u8]) -> Result<Photo, AppError> {
    let prepared = prepare(app, body).await?;
    let mut tx = app.db.begin().await?;
    let photo = insert(&mut tx, shop, &prepared).await?;
    tx.commit().await?;
    Ok(photo)
}

/// A photo checked and re-encoded, not stored yet: what [`upload`] does before
/// its transaction, for a caller that stores it in a transaction of its own
/// (the API's, which also keeps the answer to an `Idempotency-Key`).
pub struct Prepared {
    meta: PhotoMeta,
    jpeg: Vec<u8>,
}

/// Checks and re-encodes the bytes as [`upload`] does, storing nothing.
pub async fn prepare(app: &App, body: &[u8]) -> Result<Prepared, AppError> {
    let kind = sniff(body)?;
    let encoded = {
        // Closed only if the process is shutting down; decode anyway then.
        let _permit = DECODES.acquire().await.ok();
        let bytes = body.to_vec();
        tokio::task::spawn_blocking(move || reencode(kind, &bytes))
            .await
            .map_err(|e| {
                // A decoder that panicked on hostile bytes: the photo is refused,
                // the process goes on.
                tracing::warn!(error = %e, "photo decoding failed");
                PhotoError::Unreadable {
                    format: kind.name(),
                }
            })??
    };
    let created_at = app.now();
    let meta = PhotoMeta {
        id: PhotoId::new(created_at, app.entropy()),
        width: encoded.width,
        height: encoded.height,
        size: u64::try_from(encoded.jpeg.len()).unwrap_or(u64::MAX),
        sha256: hex_sha256(&encoded.jpeg),
        created_at,
    };
    Ok(Prepared {
        meta,
        jpeg: encoded.jpeg,
    })
}

/// Stores a prepared photo in the caller's transaction.
pub async fn insert(tx: &mut Tx, shop: ShopId, p: &Prepared) -> Result<Photo, AppError> {
    store::insert(tx, shop, &p.meta, &p.jpeg).await?;
    Ok(p.meta.clone().into())
}

/// The shop's photo and its stored JPEG; another shop's photo is not found.
pub async fn get(app: &App, shop: ShopId, id: PhotoId) -> Result<(Photo, Vec<u8>), AppError> {
    let mut conn = app.db.conn().await?;
    let (meta, jpeg) = store::get(&mut conn, shop, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Photo))?;
    Ok((meta.into(), jpeg))
}

/// The kinds of image taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Jpeg,
    Png,
    WebP,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Jpeg => "JPEG",
            Kind::Png => "PNG",
            Kind::WebP => "WebP",
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::WebP => ImageFormat::WebP,
        }
    }
}

/// The kind of image `body` is by its first bytes (its magic number), after
/// the checks that need no decoding: not empty, not too large.
fn sniff(body: &[u8]) -> Result<Kind, PhotoError> {
    if body.is_empty() {
        return Err(PhotoError::Empty);
    }
    if body.len() > MAX_UPLOAD_BYTES {
        return Err(PhotoError::TooLarge {
            max: MAX_UPLOAD_BYTES,
        });
    }
    if body.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Kind::Jpeg);
    }
    if body.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Kind::Png);
    }
    if body.len() >= 12 && &body[..4] == b"RIFF" && &body[8..12] == b"WEBP" {
        return Ok(Kind::WebP);
    }
    Err(PhotoError::UnsupportedType {
        found: other_kind(body),
    })
}

/// What a refused body is, when it can be told, for the message.
fn other_kind(body: &[u8]) -> Option<&'static str> {
    // ISO base media files: a box size, then `ftyp` and the major brand.
    if body.len() >= 12 && &body[4..8] == b"ftyp" {
        return match &body[8..12] {
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
                Some("HEIC")
            }
            b"avif" | b"avis" => Some("AVIF"),
            _ => Some("a video"),
        };
    }
    let starts = |magic: &[u8]| body.starts_with(magic);
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Some("GIF");
    }
    if starts(b"BM") {
        return Some("BMP");
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Some("TIFF");
    }
    if starts(b"%PDF") {
        return Some("PDF");
    }
    let head = &body[..body.len().min(512)];
    let text = std::str::from_utf8(head).is_ok() && !head.contains(&0);
    if text {
        let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
        if lower.contains("<svg") {
            return Some("SVG");
        }
        if lower.contains("<html") || lower.contains("<!doctype") {
            return Some("HTML");
        }
        return Some("text");
    }
    None
}

/// The photo as stored.
struct Encoded {
    jpeg: Vec<u8>,
    width: u32,
    height: u32,
}

/// Decodes `bytes` as `kind` under limits, turns it upright, scales it down
/// and encodes it as JPEG. CPU work: run it on a blocking thread.
fn reencode(kind: Kind, bytes: &[u8]) -> Result<Encoded, PhotoError> {
    let unreadable = PhotoError::Unreadable {
        format: kind.name(),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECLARED_SIDE);
    limits.max_image_height = Some(MAX_DECLARED_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    // Reads the header only: the declared size is checked before any pixel is.
    let mut decoder = reader.into_decoder().map_err(|e| match e {
        ImageError::Limits(_) => too_big(declared_size(kind, bytes)),
        _ => unreadable,
    })?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > u64::from(MAX_MEGAPIXELS) * 1_000_000
        || decoder.total_bytes() > MAX_DECODED_BYTES
    {
        return Err(too_big((width, height)));
    }
    // A photo whose EXIF cannot be read is still a photo: leave it as it is.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        ImageError::Limits(_) => too_big((width, height)),
        _ => unreadable,
    })?;
    image.apply_orientation(orientation);
    if image.width().max(image.height()) > MAX_SIDE {
        // Keeps the aspect ratio, the long side at MAX_SIDE.
        image = image.resize(MAX_SIDE, MAX_SIDE, FilterType::Triangle);
    }
    let rgb = flatten(image);
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode_image(&rgb)
        .map_err(|_| unreadable)?;
    Ok(Encoded {
        width: rgb.width(),
        height: rgb.height(),
        jpeg,
    })
}

fn too_big((width, height): (u32, u32)) -> PhotoError {
    PhotoError::Dimensions {
        width,
        height,
        max_side: MAX_DECLARED_SIDE,
        max_megapixels: MAX_MEGAPIXELS,
    }
}

/// The size a PNG's header declares, for the message when the decoder's
/// limits refused it; (0, 0) where it cannot be read.
fn declared_size(kind: Kind, bytes: &[u8]) -> (u32, u32) {
    let be = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_be_bytes)
    };
    match kind {
        // Signature (8), IHDR's length and type (8), then width and height.
        Kind::Png => (be(16), be(20)),
        Kind::Jpeg | Kind::WebP => (0, 0),
    }
}

/// RGB, with any transparency laid over white (JPEG has no alpha; black
/// behind a cut-out product would hide it).
fn flatten(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (out, px) in rgb.pixels_mut().zip(rgba.pixels()) {
        let [r, g, b, a] = px.0;
        let a = u16::from(a);
        let over = |v: u8| {
            let mixed = (u16::from(v) * a + 255 * (255 - a) + 127) / 255;
            u8::try_from(mixed).unwrap_or(u8::MAX)
        };
        *out = image::Rgb([over(r), over(g), over(b)]);
    }
    rgb
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_tell_the_type() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Ok(Kind::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Ok(Kind::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Ok(Kind::WebP));
        assert_eq!(sniff(b""), Err(PhotoError::Empty));
        let refused = |b: &[u8]| match sniff(b) {
            Err(PhotoError::UnsupportedType { found }) => found,
            other => panic!("{other:?}"),
        };
        assert_eq!(refused(b"\0\0\0\x18ftypheic\0\0\0\0"), Some("HEIC"));
        assert_eq!(refused(b"\0\0\0\x18ftypmif1\0\0\0\0"), Some("HEIC"));
        assert_eq!(refused(b"GIF89a......"), Some("GIF"));
        assert_eq!(
            refused(b"<?xml version=\"1.0\"?><svg xmlns=\"\">"),
            Some("SVG")
        );
        assert_eq!(refused(b"<!DOCTYPE html><p>hi"), Some("HTML"));
        assert_eq!(refused(b"hello"), Some("text"));
        assert_eq!(refused(b"\0\x01\x02\xFF\xFE"), None);
        // A RIFF that is not WebP (a WAV file) is not taken.
        assert_eq!(refused(b"RIFF\0\0\0\0WAVEfmt "), None);
        let large = vec![0xFF; MAX_UPLOAD_BYTES + 1];
        assert_eq!(
            sniff(&large),
            Err(PhotoError::TooLarge {
                max: MAX_UPLOAD_BYTES
            })
        );
    }

    #[test]
    fn transparency_lies_over_white() {
        let mut img = image::RgbaImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        img.put_pixel(1, 0, image::Rgba([10, 20, 30, 255]));
        let rgb = flatten(DynamicImage::ImageRgba8(img));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [10, 20, 30]);
    }
}
