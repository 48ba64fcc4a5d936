//! Shoppers' photos: uploaded as raw bytes, told apart by content, re-encoded
//! as JPEG without metadata, served only to their own shop, and named by the
//! return items that need them. Every refusal is a problem document and stores
//! nothing.

use std::io::Cursor;

use image::{ImageFormat, RgbImage};
use kembali_app::photos::MAX_UPLOAD_BYTES;
use serde_json::{Value, json};

use crate::fixtures::{EMAIL, create_order, create_return, get_return, order, return_body, s};
use crate::support::{Reply, TestApp, assert_problem};

async fn upload(app: &TestApp, key: &str, content_type: &str, bytes: Vec<u8>) -> Reply {
    app.send(
        app.client
            .post(app.url("/api/v1/photos"))
            .bearer_auth(key)
            .header("content-type", content_type)
            .body(bytes),
    )
    .await
}

/// Uploads and insists on a 201; answers the photo's JSON.
async fn uploaded(app: &TestApp, content_type: &str, bytes: Vec<u8>) -> Value {
    let r = upload(app, &app.key, content_type, bytes).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

/// The stored JPEG, with the response's headers.
async fn fetch(app: &TestApp, key: &str, url: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let res = app
        .client
        .get(app.url(url))
        .bearer_auth(key)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let headers = res.headers().clone();
    (headers, res.bytes().await.expect("body").to_vec())
}

/// A picture with something in it (a gradient), so the encoders have work to do.
fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    })
}

fn encoded(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format)
        .expect("encode");
    out
}

/// A JPEG as a phone writes one: EXIF with the orientation (6: turn 90° to
/// show it) and a GPS position, and a comment, right after the start marker.
fn phone_jpeg(width: u32, height: u32) -> Vec<u8> {
    let plain = encoded(&picture(width, height), ImageFormat::Jpeg);
    // TIFF, little-endian: IFD0 at 8 with Orientation and the GPS IFD's offset
    // (2 + 2 × 12 + 4 = 30 bytes, so the GPS IFD starts at 38), then the GPS
    // IFD with GPSLatitudeRef "N".
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend([2, 0]);
    tiff.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    tiff.extend([0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
    tiff.extend([0, 0, 0, 0]);
    tiff.extend([1, 0]);
    tiff.extend([0x01, 0x00, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]);
    tiff.extend([0, 0, 0, 0]);
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend(&tiff);
    let comment = b"GPS-SECRET 52.2297N 21.0122E";
    let mut out = plain[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(u16::try_from(exif.len() + 2).unwrap().to_be_bytes());
    out.extend(&exif);
    out.extend([0xFF, 0xFE]);
    out.extend(u16::try_from(comment.len() + 2).unwrap().to_be_bytes());
    out.extend(comment);
    out.extend(&plain[2..]);
    out
}

/// The JPEG's segments before the image data, by marker.
fn segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "not a JPEG");
    let mut out = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        out.push((marker, jpeg[i + 4..i + 2 + len].to_vec()));
        if marker == 0xDA {
            break;
        }
        i += 2 + len;
    }
    out
}

fn has_exif(jpeg: &[u8]) -> bool {
    segments(jpeg)
        .iter()
        .any(|(marker, data)| *marker == 0xE1 && data.starts_with(b"Exif\0\0"))
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend(data);
    out.extend(&body);
    out.extend(crc32(&body).to_be_bytes());
    out
}

/// A well-formed PNG header declaring `width`×`height`, with a tiny IDAT: a
/// decompression bomb's opening.
fn declared_png(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    out.extend(chunk(
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    out.extend(chunk(b"IEND", &[]));
    out
}

async fn photos_stored(app: &TestApp) -> i64 {
    let mut conn = app.db.conn().await.expect("conn");
    kembali_store::photos::count(&mut conn, app.shop.id)
        .await
        .expect("count")
}

async fn upload_and_read_back(app: &TestApp) {
    // A PNG, sent as PNG: kept at its size, served as JPEG.
    let png = uploaded(
        app,
        "image/png",
        encoded(&picture(300, 200), ImageFormat::Png),
    )
    .await;
    let id = s(&png["id"]);
    assert!(id.starts_with("pho_"), "{png}");
    assert_eq!(
        (png["width"].as_u64(), png["height"].as_u64()),
        (Some(300), Some(200))
    );
    assert_eq!(png["url"], format!("/api/v1/photos/{id}"));
    assert!(png["created_at"].is_string(), "{png}");
    let (headers, jpeg) = fetch(app, &app.key, &s(&png["url"])).await;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "image/jpeg");
    assert!(header("cache-control").starts_with("private, max-age="));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-disposition").starts_with("inline"));
    assert_eq!(png["size"].as_u64(), u64::try_from(jpeg.len()).ok());
    let decoded = image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg).expect("a JPEG");
    assert_eq!((decoded.width(), decoded.height()), (300, 200));

    // A phone's JPEG, sent as bytes: turned upright, every metadata byte gone.
    let phone_bytes = phone_jpeg(40, 20);
    assert!(has_exif(&phone_bytes));
    let phone = uploaded(app, "application/octet-stream", phone_bytes).await;
    assert_eq!(
        (phone["width"].as_u64(), phone["height"].as_u64()),
        (Some(20), Some(40)),
        "EXIF orientation 6 turns it upright: {phone}"
    );
    let (_, jpeg) = fetch(app, &app.key, &s(&phone["url"])).await;
    assert!(!has_exif(&jpeg), "the stored JPEG keeps an EXIF segment");
    assert!(
        !segments(&jpeg).iter().any(|(m, _)| *m == 0xFE),
        "the stored JPEG keeps a comment"
    );
    assert!(!jpeg.windows(10).any(|w| w == b"GPS-SECRET"));
    let decoded = image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg).expect("a JPEG");
    assert_eq!((decoded.width(), decoded.height()), (20, 40));

    // Large photos are scaled to 2048 pixels on the long side; the type is
    // the bytes', whatever the Content-Type says.
    let big = uploaded(
        app,
        "image/jpeg",
        encoded(&picture(3000, 1000), ImageFormat::Png),
    )
    .await;
    assert_eq!(big["width"], 2048, "{big}");
    assert!(
        (682..=683).contains(&big["height"].as_u64().unwrap_or(0)),
        "{big}"
    );

    // WebP is taken too.
    let webp = uploaded(
        app,
        "image/webp",
        encoded(&picture(64, 48), ImageFormat::WebP),
    )
    .await;
    assert_eq!(
        (webp["width"].as_u64(), webp["height"].as_u64()),
        (Some(64), Some(48))
    );
    assert_eq!(photos_stored(app).await, 4);

    // Another shop does not see it; an unknown or malformed id is a 404 too.
    let other = app.other_shop("other-photos").await;
    let r = app.get_as(&other, &s(&png["url"])).await;
    assert_problem(&r, 404, "not-found");
    let unknown = "/api/v1/photos/pho_01jd4x7v8k2m3n4p5q6r7s8t9v";
    assert_problem(&app.get(unknown).await, 404, "not-found");
    assert_problem(
        &app.get("/api/v1/photos/ret_01jd4x7v8k2m3n4p5q6r7s8t9v")
            .await,
        404,
        "not-found",
    );
}
crate::both!(upload_and_read, super::upload_and_read_back);

/// A retried upload with the same `Idempotency-Key` gets the first answer,
/// `Location` included, and stores no second photo; the key with other bytes
/// is a 422 and stores nothing.
async fn a_retried_upload_is_one_photo(app: &TestApp) {
    let send = |bytes: Vec<u8>| {
        app.send(
            app.client
                .post(app.url("/api/v1/photos"))
                .bearer_auth(&app.key)
                .header("content-type", "image/png")
                .header("idempotency-key", "photo-1")
                .body(bytes),
        )
    };
    let png = encoded(&picture(30, 20), ImageFormat::Png);
    let before = photos_stored(app).await;
    let first = send(png.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = send(png).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body, first.body);
    let header = |r: &Reply, name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header(&again, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(header(&first, "idempotent-replayed"), None);
    assert_eq!(header(&first, "location"), Some(s(&first.body["url"])));
    assert_eq!(header(&again, "location"), Some(s(&first.body["url"])));
    assert_eq!(photos_stored(app).await, before + 1);

    let other = send(encoded(&picture(31, 20), ImageFormat::Png)).await;
    assert_problem(&other, 422, "idempotency-key-reused");
    assert_eq!(photos_stored(app).await, before + 1);
}
crate::both!(retried_upload, super::a_retried_upload_is_one_photo);

async fn refusals_store_nothing(app: &TestApp) {
    let key = app.key.clone();
    let good = encoded(&picture(32, 32), ImageFormat::Png);
    let mut garbage_png = good[..16].to_vec();
    garbage_png.extend(std::iter::repeat_n(0xA5u8, 500));
    let truncated = good[..good.len() / 2].to_vec();
    let mut oversize = good.clone();
    oversize.resize(MAX_UPLOAD_BYTES + 1, 0);
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "a text file",
            "image/png",
            b"just some words\n".to_vec(),
            415,
            "photo-unsupported-type",
        ),
        (
            "an HTML page",
            "image/jpeg",
            b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec(),
            415,
            "photo-unsupported-type",
        ),
        (
            "an SVG",
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(),
            415,
            "photo-unsupported-type",
        ),
        (
            "a HEIC photo",
            "image/heic",
            heic,
            415,
            "photo-unsupported-type",
        ),
        (
            "a GIF",
            "image/gif",
            b"GIF89a\x01\0\x01\0\0\0\0;".to_vec(),
            415,
            "photo-unsupported-type",
        ),
        (
            "a PNG header and garbage",
            "image/png",
            garbage_png,
            422,
            "photo-unreadable",
        ),
        (
            "half a PNG",
            "image/png",
            truncated,
            422,
            "photo-unreadable",
        ),
        ("an empty body", "image/png", Vec::new(), 422, "photo-empty"),
        (
            "a body over 10 MiB",
            "image/png",
            oversize,
            413,
            "photo-too-large",
        ),
        (
            "a PNG declaring 60000×60000",
            "image/png",
            declared_png(60_000, 60_000),
            422,
            "photo-dimensions",
        ),
        (
            "a PNG declaring 10000×9000 (90 megapixels)",
            "image/png",
            declared_png(10_000, 9_000),
            422,
            "photo-dimensions",
        ),
        (
            "JSON",
            "application/json",
            good.clone(),
            415,
            "unsupported-media-type",
        ),
        (
            "a form",
            "application/x-www-form-urlencoded",
            good.clone(),
            415,
            "unsupported-media-type",
        ),
    ];
    for (what, content_type, bytes, status, slug) in cases {
        let r = upload(app, &key, content_type, bytes).await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        assert_problem(&r, status, slug);
    }
    let heic = upload(
        app,
        &key,
        "image/heic",
        b"\0\0\0\x18ftypheic\0\0\0\0".to_vec(),
    )
    .await;
    assert!(s(&heic.body["detail"]).contains("HEIC"), "{}", heic.body);
    // No Content-Type at all.
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/photos"))
                .bearer_auth(&key)
                .body(good),
        )
        .await;
    assert_problem(&r, 415, "unsupported-media-type");
    assert_eq!(photos_stored(app).await, 0);
}
crate::both!(refusals, super::refusals_store_nothing);

async fn returns_name_their_photos(app: &TestApp) {
    let photo = uploaded(
        app,
        "image/png",
        encoded(&picture(80, 60), ImageFormat::Png),
    )
    .await;
    let id = s(&photo["id"]);
    let o = create_order(app, &order("#P-1", 2)).await;

    // Another shop's photo, or one that does not exist: 422 naming it, nothing written.
    let other = app.other_shop("other-photos").await;
    let theirs = upload(
        app,
        &other,
        "image/png",
        encoded(&picture(8, 8), ImageFormat::Png),
    )
    .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    let before = app.counts(EMAIL).await;
    let unknown = "pho_01jd4x7v8k2m3n4p5q6r7s8t9v";
    for (photos, field) in [
        (json!([theirs.body["id"]]), "items[0].photos[0]"),
        (json!([id, unknown]), "items[0].photos[1]"),
        (json!(["not-a-photo"]), "items[0].photos[0]"),
    ] {
        let mut body = return_body(&o, 0, 1, "refund");
        body["items"][0]["photos"] = photos.clone();
        let r = app.post("/api/v1/returns", &body).await;
        assert_problem(&r, 422, "validation");
        assert_eq!(r.body["errors"][0]["field"], field, "{photos}: {}", r.body);
    }
    assert_eq!(
        app.counts(EMAIL).await,
        before,
        "a refused return wrote something"
    );

    // The shop's own photo: the return opens and shows it, however the id was spelled.
    let mut body = return_body(&o, 0, 1, "refund");
    body["items"][0]["photos"] = json!([id.to_uppercase().replacen("PHO_", "pho_", 1)]);
    let ret = create_return(app, &body).await;
    let shown = get_return(app, &s(&ret["id"])).await;
    assert_eq!(shown["items"][0]["photos"], json!([id]), "{shown}");
    // A week on, the photos no return names are purged; the return's stays.
    let loose = uploaded(app, "image/png", encoded(&picture(8, 8), ImageFormat::Png)).await;
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 8));
    app.drain().await;
    assert_problem(&app.get(&s(&loose["url"])).await, 404, "not-found");
    let (_, jpeg) = fetch(app, &app.key, &s(&photo["url"])).await;
    assert!(!jpeg.is_empty());
    assert_eq!(photos_stored(app).await, 1);
}
crate::both!(returns_with_photos, super::returns_name_their_photos);
