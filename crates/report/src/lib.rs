//! The check report (审查报告) as a PDF: an A4 Typst document compiled in-process from a
//! [`Report`] (what to print, already in words and figures) and its map, drawn as SVG in Rust.
//!
//! This crate is apart from the API so that the typesetter (Typst, its layout engine and the
//! PDF writer) is compiled once and the API crate's own builds stay lean. It does no I/O but
//! reading the fonts once, and holds no global state of its own. Typst's memo cache is global
//! (comemo) and grows with every document compiled, so [`Renderer::render`] empties it after
//! each report: a service printing thousands of reports keeps a flat memory.
//!
//! Compiling takes tens of milliseconds of CPU: callers on an async runtime run
//! [`Renderer::render`] on a blocking thread (`spawn_blocking`) behind a semaphore.
//!
//! The same [`Report`] gives the same bytes: the document's date is the check's time
//! ([`Report::created`]), its id is derived from the check's id, and nothing reads the clock.

pub mod map;
pub mod model;
mod world;

use std::path::{Path, PathBuf};

pub use model::Report;
use typst::{
    foundations::{Bytes, Datetime, Smart},
    text::{Font, FontBook},
    utils::LazyHash,
    Library, LibraryExt,
};
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

/// The template, laid out by Typst with the report's data as `data.json` and its map as
/// `map.svg`.
const TEMPLATE: &str = include_str!("report.typ");

/// The font files the template uses (Noto Sans CJK SC, regular and bold), as Debian's
/// `fonts-noto-cjk` names them. Only these are read: the collections are 19–20 MB each.
pub const FONT_FILES: [&str; 2] = ["NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc"];

/// Where Debian's `fonts-noto-cjk` puts them.
pub const DEFAULT_FONT_DIR: &str = "/usr/share/fonts/opentype/noto";

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A font file is missing or unreadable.
    #[error("cannot read the font {path}: {message} (install fonts-noto-cjk, or point the font folder at a folder holding {files:?})", files = FONT_FILES)]
    Font {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The template did not compile: a bug of this crate, never of the data.
    #[error("the report template failed: {0}")]
    Compile(String),
    /// The PDF writer refused the document.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
    /// The data could not be serialised for the template.
    #[error("the report's data could not be serialised: {0}")]
    Data(#[from] serde_json::Error),
    /// The report has no parcels to draw.
    #[error("the report has no parcels to draw")]
    NoParcels,
}

/// Compiles reports: the standard library and the fonts, loaded once and shared by every
/// report (cheap to share behind an `Arc`).
pub struct Renderer {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("fonts", &self.fonts.len())
            .finish_non_exhaustive()
    }
}

impl Renderer {
    /// Reads the fonts of [`FONT_FILES`] from `font_dir`.
    ///
    /// # Errors
    /// [`ReportError::Font`] when a file is missing or holds no font.
    pub fn load(font_dir: &Path) -> Result<Self, ReportError> {
        let mut fonts = Vec::new();
        for name in FONT_FILES {
            let path = font_dir.join(name);
            let data = std::fs::read(&path).map_err(|e| ReportError::Font {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let before = fonts.len();
            fonts.extend(Font::iter(Bytes::new(data)));
            if fonts.len() == before {
                return Err(ReportError::Font {
                    path,
                    message: "the file holds no font".to_owned(),
                });
            }
        }
        Ok(Self {
            library: LazyHash::new(Library::builder().build()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
        })
    }

    /// The report as PDF bytes (A4, PDF/A-2b), then Typst's memo cache emptied.
    ///
    /// # Errors
    /// [`ReportError`]: a report without parcels, or a template or writer failure.
    pub fn render(&self, report: &Report) -> Result<Vec<u8>, ReportError> {
        let result = self.compile(report);
        // The cache is process-wide and would keep every report's layout otherwise.
        typst::comemo::evict(0);
        result
    }

    /// Whether one of the fonts has a glyph for `c`.
    fn covers(&self, c: char) -> bool {
        self.fonts
            .iter()
            .any(|f| f.info().coverage.contains(u32::from(c)))
    }

    /// Every text of the report's data as the fonts can print it. PDF/A forbids a character no
    /// embedded font can show, and stored text may hold one (a title typed with a stray control
    /// code, a code point no font has yet): one such character would fail the whole report. It
    /// is printed as U+FFFD (`?` where the fonts lack that too); a line break stays one, a tab
    /// or carriage return becomes a space. What is stored is not touched.
    fn printable(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(text) => {
                if text
                    .chars()
                    .all(|c| c == '\n' || (!c.is_control() && self.covers(c)))
                {
                    return;
                }
                let missing = if self.covers('\u{FFFD}') { '\u{FFFD}' } else { '?' };
                *text = text
                    .chars()
                    .map(|c| match c {
                        '\n' => c,
                        '\t' | '\r' => ' ',
                        c if c.is_control() || !self.covers(c) => missing,
                        c => c,
                    })
                    .collect();
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.printable(item)),
            Value::Object(fields) => fields.values_mut().for_each(|field| self.printable(field)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn compile(&self, report: &Report) -> Result<Vec<u8>, ReportError> {
        let frame = map::Frame::of(&report.map).ok_or(ReportError::NoParcels)?;
        let (bar_m, bar_mm) = frame.scale_bar();
        let mut data = serde_json::to_value(report)?;
        data["scale"] = serde_json::json!({
            "denominator": format!("{}", frame.scale_denominator()),
            "bar_m": format!("{bar_m}"),
            "bar_mm": bar_mm,
            "crs": report.map.crs,
        });
        data["layout"] = serde_json::json!({
            "header_mm": map::HEADER_MM,
            "map_width_mm": map::MAP_WIDTH_MM,
            "map_height_mm": map::MAP_HEIGHT_MM,
        });
        self.printable(&mut data);
        let created = report.created;
        let date = Datetime::from_ymd_hms(
            created.year,
            created.month,
            created.day,
            created.hour,
            created.minute,
            created.second,
        )
        .ok_or_else(|| ReportError::Compile(format!("the report date {created:?} is not a date")))?;
        let world = world::ReportWorld::new(
            self,
            TEMPLATE,
            serde_json::to_vec(&data)?,
            map::svg(&report.map, &frame).into_bytes(),
            date,
        );
        let document: typst_layout::PagedDocument = typst::compile(&world)
            .output
            .map_err(|errors| ReportError::Compile(world::describe(&errors)))?;
        let standards =
            PdfStandards::new(&[PdfStandard::A_2b]).map_err(|e| ReportError::Pdf(e.message().to_string()))?;
        let options = PdfOptions {
            ident: Smart::Custom(report.check_id.clone()),
            creator: Smart::Custom(Some("landuse (安康市自然资源局 用地审批系统)".to_owned())),
            timestamp: Some(Timestamp::new_utc(date)),
            standards,
            ..PdfOptions::default()
        };
        typst_pdf::pdf(&document, &options).map_err(|errors| ReportError::Pdf(world::describe(&errors)))
    }
}
