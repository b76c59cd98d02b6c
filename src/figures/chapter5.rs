//! Essay section 5, "Embeddings": a 2-D map of plant and animal words from the model's
//! token embeddings (PCA of rows of W_E), and the raw embedding vectors of a few words
//! drawn as lists of numbers. Also home of the word-map helper section 7 shares.
//!
//! Word lists live in `data/figures/<id>.json`, read when the figure's parameters are
//! made, so a teacher can change them; their content is the figure's parameters, hence
//! in its stamp and rebuilt when they change.

use serde::{Deserialize, Serialize};

use super::params::Named;
use super::{Ctx, Figure, FigureSpec, Made, Plot, Table};
use crate::analysis::embedding::{self, WordVector};
use crate::analysis::pca::Pca;
use crate::error::Result;
use crate::plot::{LinePlot, Panels, Scatter, ScatterPoint, Series, SeriesStyle};

const SECTION: &str = super::sections::EMBEDDINGS;
pub(super) const MAP_SIZE: (u32, u32) = (1200, 900);

/// `data/figures/word-embedding-map.json`: groups of words to map, and words whose
/// `neighbours` nearest tokens in the whole vocabulary are added to the CSV.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordMapParams {
    pub groups: Named<Vec<String>>,
    #[serde(default)]
    pub neighbours_of: Vec<String>,
    #[serde(default = "one")]
    pub neighbours: usize,
}

fn one() -> usize {
    1
}

/// A list of words (`data/figures/<id>.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordsParams {
    pub words: Vec<String>,
}

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    let mut list = vec![
        FigureSpec::from_data_file("word-embedding-map", SECTION, Made::Model, "Plant and animal words placed by the model's token embeddings, flattened to two dimensions by principal component analysis: related words land near each other.", word_embedding_map),
        FigureSpec::from_data_file("raw-embeddings", SECTION, Made::Model, "The raw embedding vectors of a few words ({words}): each is just a long list of numbers, one per element of the model's width.", raw_embeddings),
    ];
    // The digit net's outputs and features (digits.rs) come between the two, as in the essay.
    super::insert_after(&mut list, "word-embedding-map", super::digits::section5());
    list
}

/// The note for words marked `*`, if any.
pub(super) fn star_note(words: &[WordVector]) -> &'static str {
    if words.iter().any(|w| w.ids.len() > 1) {
        " · * several tokens: their mean"
    } else {
        ""
    }
}

/// A 2-D PCA map of words by their token embeddings, one colour per group. The CSV has
/// each word's tokens, coordinates, and its nearest other word of the list by cosine
/// similarity in the full space (not in the flattened picture).
pub(super) fn word_map(ctx: &Ctx, title: &str, groups: &[(String, Vec<String>)]) -> Result<Figure> {
    let lm = ctx.model()?;
    let mut words = Vec::new();
    let mut group_of = Vec::new();
    for (g, (_, list)) in groups.iter().enumerate() {
        for w in embedding::word_vectors(lm, list)? {
            words.push(w);
            group_of.push(g);
        }
    }
    let vectors: Vec<Vec<f64>> = words.iter().map(|w| w.vector.clone()).collect();
    let pca = Pca::fit(&vectors, 2)?;
    let xy = pca.project(&vectors);
    let mut table = Table::new(&[
        "word",
        "group",
        "token_ids",
        "tokens",
        "pc1",
        "pc2",
        "nearest_in_list",
        "cosine",
    ]);
    for (i, w) in words.iter().enumerate() {
        let (j, cos) = (0..words.len())
            .filter(|&j| j != i)
            .map(|j| (j, embedding::cosine(&w.vector, &words[j].vector)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((i, 1.0));
        table.push(vec![
            w.word.clone(),
            groups[group_of[i]].0.clone(),
            w.ids.iter().map(u32::to_string).collect::<Vec<_>>().join(" "),
            w.ids.len().to_string(),
            xy[i][0].to_string(),
            xy[i][1].to_string(),
            words[j].word.clone(),
            cos.to_string(),
        ]);
    }
    let points = words
        .iter()
        .zip(&xy)
        .zip(&group_of)
        .map(|((w, p), &g)| ScatterPoint {
            x: p[0],
            y: p[1],
            label: w.label(),
            group: g,
        })
        .collect();
    let plot = Scatter {
        title: title.into(),
        subtitle: ctx.subtitle(&format!(
            "token embeddings (W_E), {}{}",
            pca.describe(),
            star_note(&words)
        ))?,
        x_label: pca.axis_label(0),
        y_label: pca.axis_label(1),
        points,
        groups: if groups.len() > 1 {
            groups.iter().map(|g| g.0.clone()).collect()
        } else {
            vec![]
        },
        arrows: vec![],
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Scatter(plot),
        table,
        size: MAP_SIZE,
    })
}

fn word_embedding_map(ctx: &Ctx, p: &WordMapParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let mut fig = word_map(ctx, "Plants and animals in embedding space", &p.groups.0)?;
    // The nearest tokens of the whole vocabulary to a few words, appended to the CSV.
    let k = p.neighbours.max(1);
    for w in &p.neighbours_of {
        let near = embedding::nearest_tokens(lm, w, k)?;
        let list: Vec<String> = near.iter().map(|(t, c)| format!("{}:{c:.3}", t.trim())).collect();
        fig.table.push(vec![
            w.clone(),
            "nearest tokens in the vocabulary".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            list.join(" "),
            String::new(),
        ]);
    }
    Ok(fig)
}

fn raw_embeddings(ctx: &Ctx, p: &WordsParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let words = embedding::word_vectors(lm, &p.words)?;
    if words.is_empty() {
        return Err(ctx.bad_input("`words` is empty; give at least one word"));
    }
    let c = words[0].vector.len();
    let mut headers = vec!["element".to_string()];
    headers.extend(words.iter().map(WordVector::label));
    let mut table = Table { headers, rows: vec![] };
    for e in 0..c {
        let mut row = vec![e.to_string()];
        row.extend(words.iter().map(|w| w.vector[e].to_string()));
        table.push(row);
    }
    let plots = words
        .iter()
        .map(|w| {
            let points = w.vector.iter().enumerate().map(|(e, &v)| (e as f64, v)).collect();
            Plot::Lines(LinePlot {
                x_label: "element".into(),
                y_label: "value".into(),
                series: vec![Series {
                    name: String::new(),
                    points,
                    style: SeriesStyle::LineAndPoints,
                }],
                ..Default::default()
            })
        })
        .collect();
    let panels = Panels {
        title: "Embedding vectors are lists of numbers".into(),
        subtitle: ctx.subtitle(&format!("rows of W_E, {c} numbers each{}", star_note(&words)))?,
        panel_titles: words
            .iter()
            .map(|w| {
                format!(
                    "“{}” (token {})",
                    w.label(),
                    w.ids.iter().map(u32::to_string).collect::<Vec<_>>().join("+")
                )
            })
            .collect(),
        columns: 1,
    };
    Ok(Figure {
        plot: Plot::Grid { panels, plots },
        table,
        size: (1200, 300 * words.len() as u32 + 150),
    })
}
