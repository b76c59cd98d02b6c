//! Essay section 7, "What lets it work: syntax, meaning space": maps of meaning space
//! made from the model at hand. Common nouns and parts of speech by their token
//! embeddings; the two senses of "crane" by the word's contextual vector; analogy pairs
//! as arrows; and a prompt's trajectory through the residual stream of one block, with
//! the fan of likely next tokens at a step, along the path, and the path in 3-D.
//! Every map is a PCA of the points it shows (src/analysis/pca.rs); the block is chosen
//! per model ("middle" is block L/2 of whatever model is loaded).
//!
//! Word lists, sentences and prompts live in `data/figures/<id>.json` (see
//! [`super::FigureSpec::from_data_file`]). The section's parse trees (`syntax.rs`) and parentheses
//! transformer (`parens.rs`) come first in its list.

use serde::{Deserialize, Serialize};

use super::chapter5::{star_note, word_map, WordsParams, MAP_SIZE};
use super::params::Named;
use super::{Ctx, Figure, FigureSpec, Made, Plot, Table};
use crate::analysis::embedding::{self, resolve_layer, LayerChoice, Trajectory, WordVector};
use crate::analysis::pca::Pca;
use crate::error::Result;
use crate::plot::{Arrow, Camera, Point3, Scatter, Scatter3d, ScatterPoint};

const SECTION: &str = super::sections::SYNTAX_AND_MEANING;

/// `data/figures/parts-of-speech-map.json`: classes of Brown tags, and the words to map.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartsOfSpeechParams {
    pub classes: Named<Vec<String>>,
    pub words: Vec<String>,
}

/// `data/figures/crane-senses.json`: a word, the block to read, and sentences per sense.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensesParams {
    pub word: String,
    pub layer: LayerChoice,
    pub senses: Named<Vec<String>>,
}

/// `data/figures/analogies.json`: named relations, each a list of `[from, to]` pairs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalogyParams {
    pub relations: Named<Vec<[String; 2]>>,
}

/// What each point of a path is: the position's own hidden state, or the running mean
/// of the hidden states up to it (the text so far as one vector).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Points {
    #[default]
    Token,
    TextSoFar,
}

/// A path through one block's residual stream: the prompt, `steps` greedy tokens after
/// it, and with `top > 0` the fans of likely next tokens (`data/figures/<id>.json`).
/// `skip_first` leaves out the first token, which is often an outlier.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathParams {
    pub prompt: String,
    pub steps: usize,
    pub layer: LayerChoice,
    #[serde(default)]
    pub skip_first: bool,
    #[serde(default)]
    pub points: Points,
}

/// The fan of the `top` likely next tokens at the end of a prompt.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanParams {
    pub prompt: String,
    pub top: usize,
    pub layer: LayerChoice,
    #[serde(default)]
    pub skip_first: bool,
    #[serde(default)]
    pub points: Points,
}

/// A path of `steps` greedy tokens with the fan of the `top` likely tokens at each step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FansAlongParams {
    pub prompt: String,
    pub steps: usize,
    pub top: usize,
    pub layer: LayerChoice,
    #[serde(default)]
    pub skip_first: bool,
    #[serde(default)]
    pub points: Points,
}

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    let s = SECTION;
    let m = Made::Model;
    // The parse trees (syntax.rs) and the parentheses transformer (parens.rs) come first
    // in the essay, then the meaning-space maps.
    let mut list = super::syntax::figures();
    list.extend(super::parens::section7());
    list.extend(vec![
        FigureSpec::from_data_file("nouns-map", s, m, "Common nouns placed by the model's token embeddings, flattened to two dimensions by principal component analysis.", nouns_map),
        FigureSpec::from_data_file("parts-of-speech-map", s, m, "Nouns, verbs, adjectives and adverbs (each word's commonest tag in the Brown corpus) placed by their token embeddings: words of one part of speech tend to gather.", parts_of_speech_map),
        FigureSpec::from_data_file("crane-senses", s, m, "The word “{word}” in sentences of different senses: its vector inside the model, after some blocks have mixed in the context, separates the senses.", crane_senses),
        FigureSpec::from_data_file("analogies", s, m, "Analogy pairs as arrows in embedding space: man → woman, king → queen, country → capital.", analogies),
        FigureSpec::from_data_file("trajectory", s, m, "A prompt and its greedy continuation as a path through the model's feature space (one block's residual stream, flattened by PCA).", trajectory),
        FigureSpec::from_data_file("next-word-fan", s, m, "The fan of likely next words at the end of the prompt, each placed where the path would go if it came next.", next_word_fan),
        FigureSpec::from_data_file("fans-along-trajectory", s, m, "The fan of likely next words at every step of the continuation, with the path actually taken.", fans_along_trajectory),
        FigureSpec::from_data_file("trajectory-3d", s, m, "A prompt and {steps} greedy steps as a path in three dimensions of feature space.", trajectory_3d),
    ]);
    list
}

fn nouns_map(ctx: &Ctx, p: &WordsParams) -> Result<Figure> {
    word_map(
        ctx,
        "Common nouns in embedding space",
        &[("nouns".to_string(), p.words.clone())],
    )
}

fn parts_of_speech_map(ctx: &Ctx, p: &PartsOfSpeechParams) -> Result<Figure> {
    let tags = crate::corpus::brown_most_frequent_tags(crate::corpus::brown_dir())?;
    word_map(
        ctx,
        "Parts of speech (Brown corpus tags) in embedding space",
        &pos_groups(ctx, &p.words, &p.classes.0, &tags)?,
    )
}

/// Groups `words` by the class (`{"noun": ["nn", "nns"], ...}`) of each word's most
/// frequent Brown tag, classes in file order; a word whose tag is in no class goes to a
/// group named after its tag ("other: ql"), after the classes.
fn pos_groups(
    ctx: &Ctx,
    words: &[String],
    classes: &[(String, Vec<String>)],
    tags: &std::collections::HashMap<String, (String, u64)>,
) -> Result<Vec<(String, Vec<String>)>> {
    let mut out: Vec<(String, Vec<String>)> = classes.iter().map(|(name, _)| (name.clone(), Vec::new())).collect();
    for w in words {
        let (tag, _) = tags.get(&w.trim().to_lowercase()).ok_or_else(|| {
            ctx.bad_input(format!(
                "`{w}` does not occur in the Brown corpus, so it has no tag; choose another word"
            ))
        })?;
        let name = match classes.iter().find(|(_, t)| t.iter().any(|t| t == tag)) {
            Some((name, _)) => name.clone(),
            None => format!("other: {tag}"),
        };
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, list)) => list.push(w.clone()),
            None => out.push((name, vec![w.clone()])),
        }
    }
    out.retain(|(_, list)| !list.is_empty());
    Ok(out)
}

/// The block a figure asks for ("layer"), in the model at hand.
fn layer(ctx: &Ctx, choice: LayerChoice) -> Result<usize> {
    resolve_layer(choice, ctx.model()?.model.info().n_layer)
}

/// A short label for a token on a map: its text without surrounding spaces.
fn token_label(t: &str) -> String {
    let s = t.trim();
    if s.is_empty() {
        crate::tokenizer::readable(t)
    } else {
        s.to_string()
    }
}

fn crane_senses(ctx: &Ctx, p: &SensesParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let word = p.word.as_str();
    let l = layer(ctx, p.layer)?;
    let senses = &p.senses.0;
    let mut vecs: Vec<WordVector> = Vec::new();
    let mut rows = Vec::new(); // (sense index, number within sense, sentence)
    for (g, (_, sentences)) in senses.iter().enumerate() {
        for (i, s) in sentences.iter().enumerate() {
            vecs.push(embedding::contextual_vector(lm, s, word, l)?);
            rows.push((g, i + 1, s.clone()));
        }
    }
    let points: Vec<Vec<f64>> = vecs.iter().map(|v| v.vector.clone()).collect();
    let pca = Pca::fit(&points, 2)?;
    let xy = pca.project(&points);
    // Mean cosine similarity within a sense and across senses, in the full space.
    let (mut within, mut across, mut nw, mut na) = (0.0, 0.0, 0, 0);
    for i in 0..points.len() {
        for j in 0..i {
            let c = embedding::cosine(&points[i], &points[j]);
            if rows[i].0 == rows[j].0 {
                within += c;
                nw += 1;
            } else {
                across += c;
                na += 1;
            }
        }
    }
    let (within, across) = (within / nw.max(1) as f64, across / na.max(1) as f64);
    let mut table = Table::new(&["sense", "n", "sentence", "word_tokens", "pc1", "pc2"]);
    for ((g, i, s), (xy, v)) in rows.iter().zip(xy.iter().zip(&vecs)) {
        table.push(vec![
            senses[*g].0.clone(),
            i.to_string(),
            s.clone(),
            v.ids.len().to_string(),
            xy[0].to_string(),
            xy[1].to_string(),
        ]);
    }
    let initial = |name: &str| {
        name.trim_start_matches("the ")
            .chars()
            .next()
            .unwrap_or('?')
            .to_ascii_uppercase()
    };
    let scatter = Scatter {
        title: format!("“{word}” in context: two senses"),
        subtitle: ctx.subtitle(&format!("the vector of “{word}” leaving block {l} of {}, {} · mean cosine within a sense {within:.2}, across {across:.2}{}", lm.model.info().n_layer, pca.describe(), star_note(&vecs)))?,
        x_label: pca.axis_label(0),
        y_label: pca.axis_label(1),
        points: rows.iter().zip(&xy).map(|((g, i, _), p)| ScatterPoint { x: p[0], y: p[1], label: format!("{}{i}", initial(&senses[*g].0)), group: *g }).collect(),
        groups: senses.iter().map(|s| s.0.clone()).collect(),
        arrows: vec![],
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Scatter(scatter),
        table,
        size: MAP_SIZE,
    })
}

fn analogies(ctx: &Ctx, p: &AnalogyParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let mut words: Vec<WordVector> = Vec::new();
    let mut group_of = Vec::new();
    let mut pairs = Vec::new(); // (relation, from index, to index)
    let mut names = Vec::new();
    for (g, (name, list)) in p.relations.0.iter().enumerate() {
        names.push(name.clone());
        for [from_word, to_word] in list {
            let from = words.len();
            words.push(embedding::word_vector(lm, from_word)?);
            words.push(embedding::word_vector(lm, to_word)?);
            group_of.extend([g, g]);
            pairs.push((g, from, from + 1));
        }
    }
    let vectors: Vec<Vec<f64>> = words.iter().map(|w| w.vector.clone()).collect();
    let pca = Pca::fit(&vectors, 2)?;
    let xy = pca.project(&vectors);
    // How parallel each pair's offset is to its relation's mean offset, in the full space.
    let offset = |a: usize, b: usize| -> Vec<f64> { vectors[b].iter().zip(&vectors[a]).map(|(x, y)| x - y).collect() };
    let mut table = Table::new(&[
        "relation",
        "from",
        "to",
        "from_pc1",
        "from_pc2",
        "to_pc1",
        "to_pc2",
        "cosine_offset_to_relation_mean",
        "cosine_offset_to_mean_of_other_pairs",
        "completed_by_other_pairs",
    ]);
    let mut cos_all = Vec::new();
    let mut cos_others = Vec::new();
    let mut completed = 0usize;
    for (g, name) in names.iter().enumerate() {
        let mine: Vec<&(usize, usize, usize)> = pairs.iter().filter(|p| p.0 == g).collect();
        let offs: Vec<Vec<f64>> = mine.iter().map(|p| offset(p.1, p.2)).collect();
        let c = offs.first().map_or(0, Vec::len);
        let mean_of = |skip: Option<usize>| -> Vec<f64> {
            let n = offs.len() - usize::from(skip.is_some());
            (0..c)
                .map(|e| {
                    offs.iter()
                        .enumerate()
                        .filter(|(i, _)| Some(*i) != skip)
                        .map(|(_, o)| o[e])
                        .sum::<f64>()
                        / n.max(1) as f64
                })
                .collect()
        };
        let mean = mean_of(None);
        for (i, (p, o)) in mine.iter().zip(&offs).enumerate() {
            let cos = embedding::cosine(o, &mean);
            cos_all.push(cos);
            // Without this pair's own offset: is it parallel to the others', and does
            // "from + the others' mean offset" land nearest its own "to" among the
            // relation's "to" words (a fair analogy test, not one that sees the answer)?
            let (others, hit) = if offs.len() > 1 {
                let m = mean_of(Some(i));
                let guess: Vec<f64> = vectors[p.1].iter().zip(&m).map(|(x, d)| x + d).collect();
                let best = mine
                    .iter()
                    .max_by(|a, b| {
                        embedding::cosine(&guess, &vectors[a.2]).total_cmp(&embedding::cosine(&guess, &vectors[b.2]))
                    })
                    .map(|q| q.2);
                (embedding::cosine(o, &m), best == Some(p.2))
            } else {
                (f64::NAN, false)
            };
            if others.is_finite() {
                cos_others.push(others);
            }
            completed += usize::from(hit);
            table.push(vec![
                name.clone(),
                words[p.1].word.clone(),
                words[p.2].word.clone(),
                xy[p.1][0].to_string(),
                xy[p.1][1].to_string(),
                xy[p.2][0].to_string(),
                xy[p.2][1].to_string(),
                cos.to_string(),
                others.to_string(),
                hit.to_string(),
            ]);
        }
    }
    let mean_cos = cos_all.iter().sum::<f64>() / cos_all.len().max(1) as f64;
    let mean_others = cos_others.iter().sum::<f64>() / cos_others.len().max(1) as f64;
    let scatter = Scatter {
        title: "Analogies as parallel arrows".into(),
        subtitle: ctx.subtitle(&format!(
            "token embeddings (W_E), {} · each offset's cosine to the other pairs' mean offset {mean_others:.2} (to the mean including itself {mean_cos:.2}); {completed} of {} pairs completed by the others' offset{}",
            pca.describe(),
            pairs.len(),
            star_note(&words)
        ))?,
        x_label: pca.axis_label(0),
        y_label: pca.axis_label(1),
        points: words
            .iter()
            .zip(&xy)
            .zip(&group_of)
            .map(|((w, p), &g)| ScatterPoint {
                x: p[0],
                y: p[1],
                label: w.label(),
                group: g,
            })
            .collect(),
        groups: names,
        arrows: pairs.iter().map(|p| Arrow { from: p.1, to: p.2 }).collect(),
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Scatter(scatter),
        table,
        size: MAP_SIZE,
    })
}

/// What every path figure asks for: the prompt, block, points and whether to skip the
/// first token; then how many steps, how wide the fans, and whether at every step.
struct PathRequest<'a> {
    prompt: &'a str,
    layer: LayerChoice,
    skip_first: bool,
    points: Points,
    steps: usize,
    top: usize,
    fans_along: bool,
}

/// A trajectory as the figures ask for it, and the first position they show.
fn run_trajectory(ctx: &Ctx, r: &PathRequest) -> Result<(Trajectory, usize)> {
    let lm = ctx.model()?;
    let l = layer(ctx, r.layer)?;
    let (steps, top, fans_along) = (r.steps, r.top, r.fans_along);
    let n_prompt = lm.encode_prompt(r.prompt)?.len();
    let first = usize::from(r.skip_first && n_prompt > 1);
    let fan_at: Vec<usize> = if top == 0 {
        vec![]
    } else if fans_along {
        (n_prompt - 1..n_prompt - 1 + steps).collect()
    } else {
        vec![n_prompt - 1 + steps]
    };
    let t = embedding::trajectory(lm, r.prompt, steps, l, top, &fan_at)?;
    match r.points {
        Points::Token => Ok((t, first)),
        Points::TextSoFar => Ok((embedding::text_so_far(&t, first), first)),
    }
}

/// The path and fans of a trajectory on one 2-D map: path points first (from position
/// `first`), then the fan points that are not the next position actually taken.
fn trajectory_map(ctx: &Ctx, points_are: Points, t: &Trajectory, first: usize, title: &str) -> Result<Figure> {
    let lm = ctx.model()?;
    let n = t.states.len();
    let mut vectors: Vec<Vec<f64>> = t.states[first..].to_vec();
    let mut fan_rows = Vec::new(); // (fan index, candidate index, point index or None when it is the path's next point)
    for (f, (fan, &p)) in t.fans.iter().zip(&t.fan_positions).enumerate() {
        for (c, cand) in fan.iter().enumerate() {
            let taken = p + 1 < n && t.ids[p + 1] == cand.id;
            fan_rows.push((f, c, if taken { None } else { Some(vectors.len()) }));
            if !taken {
                vectors.push(cand.state.clone());
            }
        }
    }
    if vectors.len() < 3 {
        return Err(ctx.bad_input(format!(
            "the path has only {} points to map; give a longer prompt or more steps",
            vectors.len()
        )));
    }
    let pca = Pca::fit(&vectors, 2)?;
    let xy = pca.project(&vectors);
    let mut table = Table::new(&["kind", "position", "id", "token", "prob", "pc1", "pc2"]);
    let mut points = Vec::new();
    for pos in first..n {
        let i = pos - first;
        let part = if pos < t.n_prompt { "prompt" } else { "continuation" };
        table.push(vec![
            part.into(),
            pos.to_string(),
            t.ids[pos].to_string(),
            t.tokens[pos].clone(),
            String::new(),
            xy[i][0].to_string(),
            xy[i][1].to_string(),
        ]);
        points.push(ScatterPoint {
            x: xy[i][0],
            y: xy[i][1],
            label: token_label(&t.tokens[pos]),
            group: usize::from(pos >= t.n_prompt),
        });
    }
    let arrows: Vec<Arrow> = (1..n - first).map(|i| Arrow { from: i - 1, to: i }).collect();
    // Links to the possible next tokens: thin grey lines, so that the path stays readable.
    let mut faint_arrows = Vec::new();
    let fan_group = if n > t.n_prompt { 2 } else { 1 };
    for &(f, c, at) in &fan_rows {
        let p = t.fan_positions[f];
        let cand = &t.fans[f][c];
        let (x, y, kind) = match at {
            Some(i) => (xy[i][0], xy[i][1], "fan"),
            None => (xy[p + 1 - first][0], xy[p + 1 - first][1], "fan (taken)"),
        };
        table.push(vec![
            kind.into(),
            (p + 1).to_string(),
            cand.id.to_string(),
            cand.token.clone(),
            cand.prob.to_string(),
            x.to_string(),
            y.to_string(),
        ]);
        if let Some(i) = at {
            points.push(ScatterPoint {
                x,
                y,
                label: format!("{} {:.0}%", token_label(&cand.token), 100.0 * cand.prob),
                group: fan_group,
            });
            if p >= first {
                faint_arrows.push(Arrow { from: p - first, to: i });
            }
        }
    }
    let mut group_names = vec!["prompt".to_string()];
    if n > t.n_prompt {
        group_names.push("continuation (greedy)".into());
    }
    if !t.fans.is_empty() {
        group_names.push("possible next tokens".into());
    }
    let skipped = if first > 0 {
        format!(" · first token “{}” left out (an outlier)", token_label(&t.tokens[0]))
    } else {
        String::new()
    };
    let what = points_what(points_are);
    let scatter = Scatter {
        title: title.into(),
        subtitle: ctx.subtitle(&format!(
            "{what} leaving block {} of {}, {}{skipped}",
            t.layer,
            lm.model.info().n_layer,
            pca.describe()
        ))?,
        x_label: pca.axis_label(0),
        y_label: pca.axis_label(1),
        points,
        groups: group_names,
        arrows,
        faint_arrows,
    };
    Ok(Figure {
        plot: Plot::Scatter(scatter),
        table,
        size: MAP_SIZE,
    })
}

/// What the points of a path are, for subtitles.
fn points_what(points: Points) -> &'static str {
    if points == Points::TextSoFar {
        "text so far (running mean of the residual stream)"
    } else {
        "residual stream"
    }
}

fn path_request(p: &PathParams) -> PathRequest<'_> {
    PathRequest {
        prompt: &p.prompt,
        layer: p.layer,
        skip_first: p.skip_first,
        points: p.points,
        steps: p.steps,
        top: 0,
        fans_along: false,
    }
}

fn trajectory(ctx: &Ctx, p: &PathParams) -> Result<Figure> {
    let (t, first) = run_trajectory(ctx, &path_request(p))?;
    trajectory_map(ctx, p.points, &t, first, &format!("The path of “{}” …", p.prompt))
}

fn next_word_fan(ctx: &Ctx, p: &FanParams) -> Result<Figure> {
    let r = PathRequest {
        prompt: &p.prompt,
        layer: p.layer,
        skip_first: p.skip_first,
        points: p.points,
        steps: 0,
        top: p.top,
        fans_along: false,
    };
    let (t, first) = run_trajectory(ctx, &r)?;
    trajectory_map(ctx, p.points, &t, first, "The fan of possible next words")
}

fn fans_along_trajectory(ctx: &Ctx, p: &FansAlongParams) -> Result<Figure> {
    let r = PathRequest {
        prompt: &p.prompt,
        layer: p.layer,
        skip_first: p.skip_first,
        points: p.points,
        steps: p.steps,
        top: p.top,
        fans_along: true,
    };
    let (t, first) = run_trajectory(ctx, &r)?;
    trajectory_map(ctx, p.points, &t, first, "Fans of possible next words along the path")
}

fn trajectory_3d(ctx: &Ctx, p: &PathParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let (t, first) = run_trajectory(ctx, &path_request(p))?;
    let vectors = &t.states[first..];
    let pca = Pca::fit(vectors, 3)?;
    let xyz = pca.project(vectors);
    let mut table = Table::new(&["part", "position", "id", "token", "pc1", "pc2", "pc3"]);
    let mut path = Vec::new();
    let mut points = Vec::new();
    for (i, xyz) in xyz.iter().enumerate() {
        let pos = first + i;
        let part = if pos < t.n_prompt { "prompt" } else { "continuation" };
        table.push(vec![
            part.into(),
            pos.to_string(),
            t.ids[pos].to_string(),
            t.tokens[pos].clone(),
            xyz[0].to_string(),
            xyz[1].to_string(),
            xyz[2].to_string(),
        ]);
        // Label the prompt's points and every fifth step, to keep the view readable.
        let step = (pos + 1).saturating_sub(t.n_prompt); // 1 for the first new token
        let label = if pos < t.n_prompt || step % 5 == 0 || pos + 1 == t.states.len() {
            token_label(&t.tokens[pos])
        } else {
            String::new()
        };
        path.push(Point3 {
            x: xyz[0],
            y: xyz[1],
            z: xyz[2],
            label: label.clone(),
            group: 0,
        });
        if pos < t.n_prompt {
            points.push(Point3 {
                x: xyz[0],
                y: xyz[1],
                z: xyz[2],
                label: String::new(),
                group: 0,
            });
        }
    }
    let skipped = if first > 0 {
        format!(" · first token “{}” left out", token_label(&t.tokens[0]))
    } else {
        String::new()
    };
    let what = points_what(p.points);
    let plot = Scatter3d {
        title: format!("{} greedy steps in 3-D", t.ids.len() - t.n_prompt),
        subtitle: ctx.subtitle(&format!(
            "{what} leaving block {} of {}, {}{skipped}",
            t.layer,
            lm.model.info().n_layer,
            pca.describe()
        ))?,
        x_label: "PC1".into(),
        y_label: "PC2".into(),
        z_label: "PC3".into(),
        points,
        path,
        groups: vec!["prompt".into()],
        path_name: "continuation (greedy)".into(),
        camera: Camera::default(),
    };
    Ok(Figure {
        plot: Plot::Scatter3d(plot),
        table,
        size: MAP_SIZE,
    })
}
