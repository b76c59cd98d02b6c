//! Interactive views: self-contained HTML pages a class can touch, beside the essay's
//! static figures (section 1: the generation stepper; section 5: the embedding map;
//! section 6: attention and the logit lens). Each page is one `<div>` holding its CSS,
//! its data as embedded JSON and one small hand-written script (`src/views/*.js`,
//! compiled in with `include_str!`): no library, no CDN, no network request. The same
//! fragment is shown inline in a notebook (evcxr's `text/html` output) and, wrapped in a
//! document, written by the figure builder as `figures/<id>.html`.
//!
//! This module only turns plain data into HTML; `figures::interactive` computes the data
//! from a model. The script finds its own `<div>` through `document.currentScript`, so
//! several views (or the same one twice) can share a notebook page.

use serde::Serialize;

use crate::analysis::matrix::Matrix;
use crate::error::{Error, Result};

const COMMON_CSS: &str = include_str!("common.css");
const COMMON_JS: &str = include_str!("common.js");

/// The temperatures the generation stepper's slider offers: 0.05 to 2.00 in steps of 0.05.
pub fn stepper_temperatures() -> Vec<f64> {
    (1..=40).map(|i| i as f64 * 0.05).collect()
}

/// The most tokens the attention view shows (a readable head view, a page under 2 MB
/// for GPT-2 large).
pub const MAX_ATTENTION_TOKENS: usize = 48;
/// The most tokens the logit-lens grid shows.
pub const MAX_LENS_TOKENS: usize = 40;
/// The most new tokens, seeds and top-k rows of the generation stepper.
pub const MAX_STEPS: usize = 64;
pub const MAX_SEEDS: usize = 4;
pub const MAX_TOP_K: usize = 20;
/// The most words on the embedding map.
pub const MAX_WORDS: usize = 1000;

/// Which view a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    Attention,
    Stepper,
    Lens,
    Embedding,
}

impl ViewKind {
    fn class(self) -> &'static str {
        match self {
            ViewKind::Attention => "gx-attention",
            ViewKind::Stepper => "gx-stepper",
            ViewKind::Lens => "gx-lens",
            ViewKind::Embedding => "gx-embedding",
        }
    }
    fn css(self) -> &'static str {
        match self {
            ViewKind::Attention => include_str!("attention.css"),
            ViewKind::Stepper => include_str!("stepper.css"),
            ViewKind::Lens => include_str!("lens.css"),
            ViewKind::Embedding => include_str!("embedding.css"),
        }
    }
    fn js(self) -> &'static str {
        match self {
            ViewKind::Attention => include_str!("attention.js"),
            ViewKind::Stepper => include_str!("stepper.js"),
            ViewKind::Lens => include_str!("lens.js"),
            ViewKind::Embedding => include_str!("embedding.js"),
        }
    }
}

/// One interactive view: its kind, title and data (JSON, escaped for a `<script>`).
#[derive(Debug, Clone)]
pub struct Page {
    pub kind: ViewKind,
    pub title: String,
    data: String,
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Page {
    fn new<D: Serialize>(kind: ViewKind, title: &str, data: &D) -> Result<Page> {
        let json = serde_json::to_string(data).map_err(|e| Error::View(format!("cannot encode the data: {e}")))?;
        // `<` only occurs inside JSON strings, where \u003c means the same: the data can
        // then never close its <script> element.
        Ok(Page {
            kind,
            title: title.to_string(),
            data: json.replace('<', "\\u003c"),
        })
    }

    /// The view as one `<div>`: style, data, and the script that builds it. A script
    /// error is shown in the view and sent to the console.
    pub fn fragment(&self) -> String {
        format!(
            "<div class=\"gx-view {class}\">\n<style>\n{COMMON_CSS}{css}</style>\n\
             <script type=\"application/json\" class=\"gx-data\">{data}</script>\n\
             <div class=\"gx-body\"></div>\n\
             <noscript><div class=\"gx-error\">This view needs JavaScript.</div></noscript>\n\
             <script>\n(function (root) {{\ntry {{\n{COMMON_JS}{js}\nroot.setAttribute('data-ready', '1');\n}} catch (e) {{\n\
             var m = document.createElement('div'); m.className = 'gx-error'; m.textContent = 'This view failed: ' + e.message;\n\
             root.appendChild(m); root.setAttribute('data-ready', 'error'); console.error(e);\n}}\n\
             }})(document.currentScript.parentNode);\n</script>\n</div>\n",
            class = self.kind.class(),
            css = self.kind.css(),
            data = self.data,
            js = self.kind.js(),
        )
    }

    /// The view as a whole HTML document (`figures/<id>.html`).
    pub fn document(&self) -> String {
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{}</title>\n<style>body {{ margin: 1.2rem; }}</style></head>\n<body>\n{}</body></html>\n",
            html_escape(&self.title),
            self.fragment()
        )
    }

    /// Shows the view inline in an evcxr notebook (prints the fragment between
    /// `EVCXR_BEGIN_CONTENT text/html` and `EVCXR_END_CONTENT`).
    pub fn show(&self) {
        println!("EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT", self.fragment());
    }
}

/// Base64 (standard alphabet, padded) of `bytes`: how the attention weights travel.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for (k, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            out.push(if k <= c.len() {
                A[(n >> shift & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// What the attention view shows: every head of every block on one prompt.
pub struct AttentionData {
    pub title: String,
    pub subtitle: String,
    /// Token labels, one per position.
    pub tokens: Vec<String>,
    /// `patterns[block][head]`: T x T, row = query position, rows sum to 1.
    pub patterns: Vec<Vec<Matrix>>,
    /// The block and head shown first.
    pub block: usize,
    pub head: usize,
}

#[derive(Serialize)]
struct AttentionJson<'a> {
    title: &'a str,
    subtitle: &'a str,
    tokens: &'a [String],
    n_layer: usize,
    n_head: usize,
    block: usize,
    head: usize,
    /// One byte per weight (round(255 w)), lower triangles, block-head-query-key order.
    weights: String,
}

/// The attention view (head view and model view) of `d`. The weights are sent as one
/// byte each (steps of 1/255), only the lower triangle (the rest is zero).
pub fn attention(d: &AttentionData) -> Result<Page> {
    let t = d.tokens.len();
    let n_layer = d.patterns.len();
    let n_head = d.patterns.first().map_or(0, Vec::len);
    if t == 0 || n_layer == 0 || n_head == 0 {
        return Err(Error::View(
            "the attention view needs at least one token, block and head".into(),
        ));
    }
    if t > MAX_ATTENTION_TOKENS {
        return Err(Error::ViewTooLong {
            view: "attention view",
            len: t,
            max: MAX_ATTENTION_TOKENS,
        });
    }
    let mut bytes = Vec::with_capacity(n_layer * n_head * t * (t + 1) / 2);
    for block in &d.patterns {
        if block.len() != n_head {
            return Err(Error::View("every block must have the same number of heads".into()));
        }
        for m in block {
            if m.rows != t || m.cols != t {
                return Err(Error::View(format!(
                    "a pattern is {}x{}, expected {t}x{t}",
                    m.rows, m.cols
                )));
            }
            for i in 0..t {
                for j in 0..=i {
                    bytes.push((m.at(i, j).clamp(0.0, 1.0) * 255.0).round() as u8);
                }
            }
        }
    }
    Page::new(
        ViewKind::Attention,
        &d.title,
        &AttentionJson {
            title: &d.title,
            subtitle: &d.subtitle,
            tokens: &d.tokens,
            n_layer,
            n_head,
            block: d.block.min(n_layer - 1),
            head: d.head.min(n_head - 1),
            weights: base64(&bytes),
        },
    )
}

/// One step of a generation as the stepper shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StepData {
    /// The chosen token (index into [`StepperData::vocab`]).
    pub chosen: usize,
    pub chosen_logit: f32,
    /// The chosen token's rank at this step (1 = most likely).
    pub chosen_rank: usize,
    /// The top-k tokens (index into the vocabulary list) and their logits, best first.
    pub top: Vec<(usize, f32)>,
    /// log of the sum of exp(logit / T) over the whole vocabulary, for each of
    /// [`StepperData::temperatures`].
    pub log_z: Vec<f64>,
}

/// One seed's generation.
#[derive(Debug, Clone, Serialize)]
pub struct RunData {
    pub seed: u64,
    pub steps: Vec<StepData>,
}

/// What the generation stepper shows.
#[derive(Debug, Clone, Serialize)]
pub struct StepperData {
    pub title: String,
    pub subtitle: String,
    pub prompt: String,
    /// The temperature the texts were sampled at.
    pub temperature: f64,
    /// The slider's temperatures ([`stepper_temperatures`]).
    pub temperatures: Vec<f64>,
    /// Token texts used by the steps (the generated text is made of them).
    pub vocab: Vec<String>,
    /// The same tokens as labels (leading space as ␣), for the tables.
    pub labels: Vec<String>,
    pub runs: Vec<RunData>,
}

/// The generation stepper of `d`.
pub fn stepper(d: &StepperData) -> Result<Page> {
    if d.runs.is_empty() || d.runs.iter().any(|r| r.steps.is_empty()) {
        return Err(Error::View(
            "the generation stepper needs at least one seed and one step".into(),
        ));
    }
    let bad = d.runs.iter().flat_map(|r| &r.steps).any(|s| {
        s.log_z.len() != d.temperatures.len()
            || d.labels.len() != d.vocab.len()
            || s.chosen >= d.vocab.len()
            || s.top.iter().any(|&(i, _)| i >= d.vocab.len())
    });
    if bad {
        return Err(Error::View(
            "a step's data does not match the vocabulary or temperatures".into(),
        ));
    }
    Page::new(ViewKind::Stepper, &d.title, d)
}

/// One cell of the logit-lens grid.
#[derive(Debug, Clone, Serialize)]
pub struct LensCellData {
    /// The top-k guesses (index into [`LensData::vocab`]) and their probabilities.
    pub t: Vec<usize>,
    pub p: Vec<f64>,
    /// The rank (1 = top) of the final answer at this position, read at this row.
    pub rank: usize,
}

/// What the logit-lens view shows.
#[derive(Debug, Clone, Serialize)]
pub struct LensData {
    pub title: String,
    pub subtitle: String,
    /// Row names, from "embed" to the last block.
    pub rows: Vec<String>,
    /// Input token labels, one per position.
    pub tokens: Vec<String>,
    pub vocab: Vec<String>,
    pub k: usize,
    /// `cells[row][position]`.
    pub cells: Vec<Vec<LensCellData>>,
    /// The model's final answer at each position (index into the vocabulary list).
    pub final_answer: Vec<usize>,
}

/// The logit-lens view of `d`.
pub fn lens(d: &LensData) -> Result<Page> {
    let t = d.tokens.len();
    if t == 0 || d.rows.is_empty() {
        return Err(Error::View(
            "the logit lens needs at least one token and one row".into(),
        ));
    }
    if t > MAX_LENS_TOKENS {
        return Err(Error::ViewTooLong {
            view: "logit-lens view",
            len: t,
            max: MAX_LENS_TOKENS,
        });
    }
    if d.cells.len() != d.rows.len() || d.cells.iter().any(|r| r.len() != t) || d.final_answer.len() != t {
        return Err(Error::View("the lens grid does not match its rows and tokens".into()));
    }
    Page::new(ViewKind::Lens, &d.title, d)
}

/// What the embedding map shows. Each point: word, group index, x, y, whether it is
/// the mean of several tokens (0/1), and its nearest words (index, cosine).
#[derive(Debug, Clone, Serialize)]
pub struct EmbeddingData {
    pub title: String,
    pub subtitle: String,
    pub x_label: String,
    pub y_label: String,
    pub groups: Vec<String>,
    #[allow(clippy::type_complexity)]
    pub points: Vec<(String, usize, f64, f64, u8, Vec<(usize, f64)>)>,
}

/// The embedding map of `d`.
pub fn embedding(d: &EmbeddingData) -> Result<Page> {
    if d.points.is_empty() {
        return Err(Error::View("the embedding map needs at least one word".into()));
    }
    if d.points.len() > MAX_WORDS {
        return Err(Error::View(format!(
            "the embedding map shows at most {MAX_WORDS} words, got {}: give fewer",
            d.points.len()
        )));
    }
    Page::new(ViewKind::Embedding, &d.title, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_examples() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn data_cannot_close_its_script() {
        let p = Page::new(ViewKind::Lens, "t", &serde_json::json!({"x": "</script><b>"})).unwrap();
        let f = p.fragment();
        assert!(!f.contains("</script><b>"));
        assert!(f.contains("\\u003c/script>\\u003cb>"));
    }
}
