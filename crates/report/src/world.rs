//! The world one report is compiled in: three files in memory (the template, its data and its
//! map) and the renderer's fonts. Nothing is read from disk and the date is the check's.

use typst::{
    diag::{FileError, FileResult, SourceDiagnostic},
    foundations::{Bytes, Datetime, Duration},
    syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot},
    text::{Font, FontBook},
    utils::LazyHash,
    Library, World,
};

use crate::Renderer;

/// The files the template reads, by name.
fn file_id(name: &str) -> FileId {
    // The names are constants of this crate and always valid paths.
    let path = VirtualPath::new(name).unwrap_or_else(|_| unreachable!("{name} is a valid path"));
    RootedPath::new(VirtualRoot::Project, path).intern()
}

/// A report's world.
pub struct ReportWorld<'a> {
    renderer: &'a Renderer,
    main: Source,
    data: Bytes,
    map: Bytes,
    today: Datetime,
}

impl<'a> ReportWorld<'a> {
    /// The world of one report.
    pub fn new(renderer: &'a Renderer, template: &str, data: Vec<u8>, map: Vec<u8>, today: Datetime) -> Self {
        Self {
            renderer,
            main: Source::new(file_id("/main.typ"), template.to_owned()),
            data: Bytes::new(data),
            map: Bytes::new(map),
            today,
        }
    }
}

impl World for ReportWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.renderer.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.renderer.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotSource)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == file_id("/data.json") {
            Ok(self.data.clone())
        } else if id == file_id("/map.svg") {
            Ok(self.map.clone())
        } else if id == self.main.id() {
            Ok(Bytes::from_string(self.main.clone()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.renderer.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

/// Typst's diagnostics as one line each.
pub fn describe(errors: &[SourceDiagnostic]) -> String {
    errors
        .iter()
        .map(|e| {
            let hints: Vec<String> = e.hints.iter().map(|h| h.v.to_string()).collect();
            if hints.is_empty() {
                e.message.to_string()
            } else {
                format!("{} ({})", e.message, hints.join("; "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
