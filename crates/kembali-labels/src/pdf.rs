//! The PDFs: pages laid out as a list of marks (text, boxes, bars), then drawn
//! with krilla. Coordinates are points from the top left corner.

use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::{Document, metadata::Metadata};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

use crate::{LabelError, Paper, address_lines, code128_modules, qr_modules, strings};

static REGULAR: &[u8] = include_bytes!("../fonts/LiberationSans-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/LiberationSans-Bold.ttf");

/// 4×6 inches.
const LABEL: (f32, f32) = (288.0, 432.0);
/// ISO A4.
const A4: (f32, f32) = (595.28, 841.89);
/// Code 128's quiet zone on each side, in modules.
const QUIET: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    Regular,
    Bold,
}

/// One thing drawn on a page.
enum Mark {
    /// Text with its baseline at `y`.
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        text: String,
    },
    /// A filled rectangle.
    Fill(Rect),
    /// A rectangle's outline.
    Frame(Rect),
}

/// A font for drawing and for measuring.
struct Face {
    font: Font,
    bytes: &'static [u8],
}

impl Face {
    fn load(bytes: &'static [u8]) -> Result<Face, LabelError> {
        let font = Font::new(bytes.into(), 0)
            .ok_or_else(|| LabelError::Pdf("the embedded font could not be read".into()))?;
        Ok(Face { font, bytes })
    }

    /// The glyphs of `text` (no shaping: Latin text needs none) with their
    /// advances per em, and the width of the whole per em.
    fn glyphs(&self, text: &str) -> (Vec<KrillaGlyph>, f32) {
        let Ok(font) = skrifa::FontRef::new(self.bytes) else {
            return (Vec::new(), 0.0);
        };
        let upem = self.font.units_per_em();
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        let mut width = 0.0;
        let glyphs = text
            .char_indices()
            .map(|(at, c)| {
                let id = charmap.map(c).unwrap_or_default();
                let advance = metrics.advance_width(id).unwrap_or(0.0) / upem;
                width += advance;
                KrillaGlyph::new(
                    GlyphId::new(id.to_u32()),
                    advance,
                    0.0,
                    0.0,
                    0.0,
                    at..at + c.len_utf8(),
                    None,
                )
            })
            .collect();
        (glyphs, width)
    }
}

struct Faces {
    regular: Face,
    bold: Face,
}

impl Faces {
    fn load() -> Result<Faces, LabelError> {
        Ok(Faces {
            regular: Face::load(REGULAR)?,
            bold: Face::load(BOLD)?,
        })
    }

    fn face(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    fn width(&self, text: &str, size: f32, weight: Weight) -> f32 {
        self.face(weight).glyphs(text).1 * size
    }

    /// `text` cut with `…` to fit `max` points.
    fn fit(&self, text: &str, size: f32, weight: Weight, max: f32) -> String {
        if self.width(text, size, weight) <= max {
            return text.to_owned();
        }
        let mut cut: String = text.to_owned();
        while !cut.is_empty() {
            cut.pop();
            let candidate = format!("{}…", cut.trim_end());
            if self.width(&candidate, size, weight) <= max {
                return candidate;
            }
        }
        String::new()
    }

    /// `text` broken into lines of at most `max` points, at spaces.
    fn wrap(&self, text: &str, size: f32, weight: Weight, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, size, weight) <= max || line.is_empty() {
                line = candidate;
            } else {
                lines.push(std::mem::take(&mut line));
                line = word.to_owned();
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
            .into_iter()
            .map(|l| self.fit(&l, size, weight, max))
            .collect()
    }
}

/// Pages of marks, laid out with the fonts that will draw them.
struct Layout<'f> {
    faces: &'f Faces,
    pages: Vec<Vec<Mark>>,
}

impl<'f> Layout<'f> {
    fn new(faces: &'f Faces) -> Layout<'f> {
        Layout {
            faces,
            pages: vec![Vec::new()],
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
    }

    fn push(&mut self, mark: Mark) {
        if let Some(page) = self.pages.last_mut() {
            page.push(mark);
        }
    }

    /// Text at `x`, cut to `max` points wide.
    fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, text: &str, max: f32) {
        let text = self.faces.fit(text, size, weight, max);
        self.push(Mark::Text {
            x,
            y,
            size,
            weight,
            text,
        });
    }

    /// Text ending at `right`.
    fn text_right(&mut self, right: f32, y: f32, size: f32, weight: Weight, text: &str, max: f32) {
        let text = self.faces.fit(text, size, weight, max);
        let w = self.faces.width(&text, size, weight);
        self.push(Mark::Text {
            x: right - w,
            y,
            size,
            weight,
            text,
        });
    }

    /// Text centred on `centre`.
    fn text_centred(&mut self, centre: f32, y: f32, size: f32, weight: Weight, text: &str) {
        let w = self.faces.width(text, size, weight);
        self.push(Mark::Text {
            x: centre - w / 2.0,
            y,
            size,
            weight,
            text: text.to_owned(),
        });
    }

    fn fill(&mut self, x: f32, y: f32, w: f32, h: f32) {
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            self.push(Mark::Fill(r));
        }
    }

    fn frame(&mut self, x: f32, y: f32, w: f32, h: f32) {
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            self.push(Mark::Frame(r));
        }
    }

    fn rule(&mut self, x: f32, y: f32, w: f32) {
        self.fill(x, y, w, 0.75);
    }

    /// The Code 128 of `data` filling `w` × `h` at (`x`, `y`), quiet zones
    /// included.
    fn code128(&mut self, data: &str, x: f32, y: f32, w: f32, h: f32) -> Result<(), LabelError> {
        let modules = code128_modules(data)?;
        let module = w / (modules.len() + 2 * QUIET) as f32;
        let mut k = 0;
        while k < modules.len() {
            if modules[k] == 1 {
                let start = k;
                while k < modules.len() && modules[k] == 1 {
                    k += 1;
                }
                let left = x + (QUIET + start) as f32 * module;
                self.fill(left, y, (k - start) as f32 * module, h);
            } else {
                k += 1;
            }
        }
        Ok(())
    }

    /// The QR code of `text` as a `side` × `side` square, its quiet zone inside.
    fn qr(&mut self, text: &str, x: f32, y: f32, side: f32) -> Result<(), LabelError> {
        let (dark, width) = qr_modules(text)?;
        // Four modules of quiet zone on each side, as the standard asks.
        let module = side / (width + 8) as f32;
        for row in 0..width {
            let mut col = 0;
            while col < width {
                if dark[row * width + col] {
                    let start = col;
                    while col < width && dark[row * width + col] {
                        col += 1;
                    }
                    self.fill(
                        x + (4 + start) as f32 * module,
                        y + (4 + row) as f32 * module,
                        (col - start) as f32 * module,
                        module,
                    );
                } else {
                    col += 1;
                }
            }
        }
        Ok(())
    }

    fn render(self, size: (f32, f32), title: String) -> Result<Vec<u8>, LabelError> {
        let mut document = Document::new();
        document.set_metadata(Metadata::new().title(title).creator("Kembali".to_owned()));
        let settings = PageSettings::from_wh(size.0, size.1)
            .ok_or_else(|| LabelError::Pdf("bad page size".into()))?;
        for marks in self.pages {
            let mut page = document.start_page_with(settings.clone());
            let mut surface = page.surface();
            for mark in marks {
                match mark {
                    Mark::Text {
                        x,
                        y,
                        size,
                        weight,
                        text,
                    } => {
                        let face = self.faces.face(weight);
                        let (glyphs, _) = face.glyphs(&text);
                        surface.set_fill(Some(Fill::default()));
                        surface.set_stroke(None);
                        surface.draw_glyphs(
                            Point::from_xy(x, y),
                            &glyphs,
                            face.font.clone(),
                            &text,
                            size,
                            false,
                        );
                    }
                    Mark::Fill(r) => {
                        let mut pb = PathBuilder::new();
                        pb.push_rect(r);
                        if let Some(path) = pb.finish() {
                            surface.set_fill(Some(Fill::default()));
                            surface.set_stroke(None);
                            surface.draw_path(&path);
                        }
                    }
                    Mark::Frame(r) => {
                        let mut pb = PathBuilder::new();
                        pb.push_rect(r);
                        if let Some(path) = pb.finish() {
                            surface.set_fill(None);
                            surface.set_stroke(Some(Stroke::default()));
                            surface.draw_path(&path);
                        }
                    }
                }
            }
            surface.finish();
            page.finish();
        }
        document
            .finish()
            .map_err(|e| LabelError::Pdf(format!("{e:?}")))
    }
}

/// The 4×6 inch label.
pub(crate) fn label(paper: &Paper) -> Result<Vec<u8>, LabelError> {
    let faces = Faces::load()?;
    let s = strings(paper.locale);
    let mut l = Layout::new(&faces);
    let (w, _) = LABEL;
    let (left, right) = (14.0, w - 14.0);
    let inner = right - left;

    l.text(left, 34.0, 22.0, Weight::Bold, s.label_title, 120.0);
    l.text_right(right, 20.0, 9.0, Weight::Bold, &paper.shop_name, 130.0);
    let order = format!("{} {}", s.order, paper.order_number);
    l.text_right(right, 30.0, 8.0, Weight::Regular, &order, 130.0);
    l.text_right(right, 40.0, 8.0, Weight::Regular, &paper.date, 130.0);
    l.rule(left, 46.0, inner);

    l.text(left, 58.0, 7.0, Weight::Bold, &s.from.to_uppercase(), inner);
    for (k, line) in address_lines(&paper.from).iter().take(6).enumerate() {
        l.text(
            left,
            68.0 + 10.0 * k as f32,
            8.0,
            Weight::Regular,
            line,
            inner,
        );
    }

    l.frame(left, 124.0, inner, 100.0);
    l.text(
        left + 6.0,
        136.0,
        7.0,
        Weight::Bold,
        &s.to.to_uppercase(),
        inner,
    );
    for (k, line) in address_lines(&paper.to).iter().take(6).enumerate() {
        let y = 152.0 + 12.5 * k as f32;
        l.text(left + 6.0, y, 11.0, Weight::Bold, line, inner - 12.0);
    }

    l.code128(&paper.return_number, left, 232.0, inner, 68.0)?;
    l.text_centred(w / 2.0, 320.0, 16.0, Weight::Bold, &paper.return_number);
    l.rule(left, 328.0, inner);

    let list_width = 170.0;
    l.text(
        left,
        342.0,
        7.0,
        Weight::Bold,
        &s.items.to_uppercase(),
        list_width,
    );
    let rows = 7;
    let shown = if paper.items.len() > rows {
        rows - 1
    } else {
        paper.items.len()
    };
    for (k, item) in paper.items.iter().take(shown).enumerate() {
        let line = format!("{} × {} {}", item.quantity, item.sku, item.title);
        l.text(
            left,
            354.0 + 10.0 * k as f32,
            8.0,
            Weight::Regular,
            &line,
            list_width,
        );
    }
    if shown < paper.items.len() {
        let more = s.more(paper.items.len() - shown);
        let y = 354.0 + 10.0 * shown as f32;
        l.text(left, y, 8.0, Weight::Regular, &more, list_width);
    }
    l.qr(&paper.qr, right - 86.0, 334.0, 86.0)?;

    let title = format!("{} {}", s.label_title, paper.return_number);
    l.render(LABEL, title)
}

/// The A4 packing slip.
pub(crate) fn packing_slip(paper: &Paper) -> Result<Vec<u8>, LabelError> {
    let faces = Faces::load()?;
    let s = strings(paper.locale);
    let mut l = Layout::new(&faces);
    let (w, h) = A4;
    let (left, right) = (42.0, w - 42.0);
    let inner = right - left;
    let bottom = h - 60.0;

    l.text(left, 70.0, 20.0, Weight::Bold, s.slip_title, 300.0);
    l.text(left, 90.0, 11.0, Weight::Regular, &paper.shop_name, 300.0);
    l.code128(&paper.return_number, right - 200.0, 52.0, 200.0, 48.0)?;
    l.text_centred(
        right - 100.0,
        116.0,
        12.0,
        Weight::Bold,
        &paper.return_number,
    );

    let facts = [
        (s.return_number, paper.return_number.as_str()),
        (s.order, paper.order_number.as_str()),
        (s.date, paper.date.as_str()),
        (s.method, s.method_name(paper.method)),
    ];
    for (k, (name, value)) in facts.iter().enumerate() {
        let y = 130.0 + 15.0 * k as f32;
        l.text(left, y, 10.0, Weight::Bold, name, 130.0);
        l.text(left + 135.0, y, 10.0, Weight::Regular, value, 200.0);
    }

    let top = 210.0;
    let column = inner / 2.0;
    for (k, (heading, address)) in [(s.from, &paper.from), (s.to, &paper.to)]
        .into_iter()
        .enumerate()
    {
        let x = left + column * k as f32;
        l.text(x, top, 10.0, Weight::Bold, heading, column - 10.0);
        for (n, line) in address_lines(address).iter().enumerate() {
            let y = top + 16.0 + 13.0 * n as f32;
            l.text(x, y, 10.0, Weight::Regular, line, column - 10.0);
        }
    }

    // The items: SKU, item, quantity, reason.
    let cols = [left, left + 100.0, left + 330.0, left + 375.0];
    let header = |l: &mut Layout, y: f32| {
        l.text(cols[0], y, 10.0, Weight::Bold, s.sku, 95.0);
        l.text(cols[1], y, 10.0, Weight::Bold, s.item, 225.0);
        l.text_right(cols[2] + 35.0, y, 10.0, Weight::Bold, s.quantity, 40.0);
        l.text(cols[3], y, 10.0, Weight::Bold, s.reason, right - cols[3]);
        l.rule(left, y + 5.0, inner);
    };
    let mut y = 330.0;
    l.text(left, y, 13.0, Weight::Bold, s.items, inner);
    y += 22.0;
    header(&mut l, y);
    y += 20.0;
    for item in &paper.items {
        if y > bottom {
            l.new_page();
            y = 70.0;
            header(&mut l, y);
            y += 20.0;
        }
        l.text(cols[0], y, 10.0, Weight::Regular, &item.sku, 95.0);
        l.text(cols[1], y, 10.0, Weight::Regular, &item.title, 225.0);
        let qty = item.quantity.to_string();
        l.text_right(cols[2] + 35.0, y, 10.0, Weight::Regular, &qty, 40.0);
        l.text(
            cols[3],
            y,
            10.0,
            Weight::Regular,
            &item.reason,
            right - cols[3],
        );
        y += 16.0;
    }

    y += 18.0;
    let mut lines = vec![(Weight::Bold, 13.0, s.how_to.to_owned())];
    for (k, step) in s.steps.iter().enumerate() {
        for (n, line) in faces
            .wrap(step, 10.0, Weight::Regular, inner - 20.0)
            .into_iter()
            .enumerate()
        {
            let text = if n == 0 {
                format!("{}.  {line}", k + 1)
            } else {
                format!("     {line}")
            };
            lines.push((Weight::Regular, 10.0, text));
        }
    }
    lines.push((Weight::Regular, 9.0, String::new()));
    for line in faces.wrap(s.questions, 9.0, Weight::Regular, inner) {
        lines.push((Weight::Regular, 9.0, line));
    }
    for (weight, size, text) in lines {
        if y > bottom {
            l.new_page();
            y = 70.0;
        }
        l.text(left, y, size, weight, &text, inner);
        y += size + 6.0;
    }

    let title = format!("{} {}", s.slip_title, paper.return_number);
    l.render(A4, title)
}
