//! Vectors for words and for text: the numbers behind essay section 5 ("Embeddings":
//! a word's row of W_E, cosine similarity, nearest neighbours) and section 7
//! ("Meaning space": the contextual vector of a word in a sentence, and a prompt's
//! trajectory through the residual stream with the fan of likely next tokens at each
//! step).
//!
//! Words are looked up as they read in running text, with a leading space (" crane"),
//! which is how byte-level BPE vocabularies (GPT-2's, SmolLM2's) store most whole words
//! ([`word_vector`], [`contextual_vector`]); a word the vocabulary splits into several
//! tokens gets the MEAN of its tokens' vectors there, and [`WordVector::ids`] keeps the
//! tokens so that figures can mark such words. [`text_vector`] (the `embed` command)
//! takes the text exactly as given and lets the caller choose what to do with several
//! tokens ([`MultiToken`]: refuse, first, mean). A word that encodes to no token at all
//! is an error.
//!
//! "Layer l" means the residual stream leaving block l (`ResidPost(l)`), shape (T, C).

use tch::{Kind, Tensor};

use crate::error::{AnalysisProblem, Error, Result};
use crate::hooks::{ActivationCache, HookFilter, HookPoint};
use crate::sampling::{self, Sampling};
use crate::LoadedModel;

/// What to do with a word the tokenizer splits into several tokens: the `embed` command
/// asks (refusing by default); the figures take the mean (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MultiToken {
    /// An error naming the tokens (no silent choice).
    #[default]
    Refuse,
    /// The vector of the word's first token.
    First,
    /// The mean of its tokens' vectors.
    Mean,
}

/// A word and the vector that stands for it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WordVector {
    pub word: String,
    /// The word's tokens; more than one means the vector combines them (see `how`).
    pub ids: Vec<u32>,
    /// The tokens' text.
    pub tokens: Vec<String>,
    /// How the vector was made: "single token", "first token" or "mean of N tokens".
    pub how: String,
    /// (C)
    pub vector: Vec<f64>,
}

impl WordVector {
    /// The word, with a `*` when it is several tokens (figures explain the mark).
    pub fn label(&self) -> String {
        if self.ids.len() > 1 {
            format!("{}*", self.word)
        } else {
            self.word.clone()
        }
    }
}

/// Token ids of `word` as it reads in running text (" word").
pub fn word_ids(lm: &LoadedModel, word: &str) -> Result<Vec<u32>> {
    let w = word.trim();
    if w.is_empty() {
        return Err(Error::Word {
            word: word.into(),
            why: "empty word: give at least one letter".into(),
        });
    }
    let ids = lm.tokenizer.encode(&format!(" {w}"))?;
    if ids.is_empty() {
        return Err(Error::Word {
            word: word.into(),
            why: "the tokenizer gives no token for it".into(),
        });
    }
    Ok(ids)
}

/// Mean of the rows `ids` of a (V, C) or (T, C) matrix, as f64 (C).
fn mean_rows(m: &Tensor, ids: &[i64]) -> Result<Vec<f64>> {
    let idx = Tensor::from_slice(ids).to_device(m.device()); // (n), where the matrix is
    let rows = m.index_select(0, &idx).to_kind(Kind::Double); // (n, C)
    Ok(Vec::<f64>::try_from(&rows.mean_dim(0, false, Kind::Double))?) // (C)
}

/// The static embedding of `word` as it reads in running text (" word"): its row of W_E,
/// the mean of its rows if it is several tokens.
pub fn word_vector(lm: &LoadedModel, word: &str) -> Result<WordVector> {
    let ids = word_ids(lm, word)?;
    rows_vector(lm, lm.model.w_e(), word.trim(), ids, None, MultiToken::Mean)
}

/// The token embedding of `text` tokenized exactly as given (" hello" and "hello" are
/// different GPT-2 tokens), several tokens combined as `multi` says: the `embed`
/// command's lookup.
pub fn text_vector(lm: &LoadedModel, text: &str, multi: MultiToken) -> Result<WordVector> {
    let ids = lm.tokenizer.encode(text)?;
    if ids.is_empty() {
        return Err(Error::Word {
            word: text.into(),
            why: "the tokenizer gives no token for it".into(),
        });
    }
    let vocab = lm.model.info().vocab_size;
    if let Some(&bad) = ids.iter().find(|&&i| i as usize >= vocab) {
        return Err(Error::BadTokenId { id: bad as i64, vocab });
    }
    rows_vector(lm, lm.model.w_e(), text, ids, None, multi)
}

/// The vector of a word whose tokens are `ids`: rows of `m` (V, C) at the ids, or at
/// `positions` of a (T, C) matrix of hidden states, combined as `multi` says.
fn rows_vector(
    lm: &LoadedModel,
    m: &Tensor,
    word: &str,
    ids: Vec<u32>,
    positions: Option<Vec<i64>>,
    multi: MultiToken,
) -> Result<WordVector> {
    let tokens: Vec<String> = ids.iter().map(|&i| lm.tokenizer.token_str(i)).collect();
    let mut rows: Vec<i64> = positions.unwrap_or_else(|| ids.iter().map(|&i| i as i64).collect());
    let how = match (ids.len(), multi) {
        (1, _) => "single token".to_string(),
        (n, MultiToken::Refuse) => {
            let shown: Vec<String> = ids.iter().zip(&tokens).map(|(i, t)| format!("{t:?} {i}")).collect();
            return Err(Error::MultiToken {
                word: word.into(),
                n,
                tokens: shown.join(", "),
            });
        }
        (_, MultiToken::First) => {
            rows.truncate(1);
            "first token".to_string()
        }
        (n, MultiToken::Mean) => format!("mean of {n} tokens"),
    };
    Ok(WordVector {
        word: word.to_string(),
        vector: mean_rows(m, &rows)?,
        ids,
        tokens,
        how,
    })
}

/// Static embeddings of several words.
pub fn word_vectors(lm: &LoadedModel, words: &[String]) -> Result<Vec<WordVector>> {
    words.iter().map(|w| word_vector(lm, w)).collect()
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// One neighbour: a row of the matrix searched and its cosine similarity.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    pub index: usize,
    pub cosine: f64,
}

/// The `k` rows of `matrix` (N, C) most cosine-similar to `v` (C), most similar first,
/// leaving out the rows in `exclude`. Ties go to the lower index.
pub fn nearest(matrix: &Tensor, v: &[f64], k: usize, exclude: &[usize]) -> Result<Vec<Neighbour>> {
    let size = matrix.size();
    if size.len() != 2 || size[1] as usize != v.len() {
        return Err(Error::Analysis(AnalysisProblem::NeighbourShape {
            len: v.len(),
            shape: size,
        }));
    }
    let m = matrix.to_kind(Kind::Double); // (N, C)
    let q = Tensor::from_slice(v).to_device(m.device()); // (C)
    let norms = m
        .linalg_norm(2.0, [1i64].as_slice(), false, Kind::Double)
        .clamp_min(1e-300); // (N)
    let qn = q
        .linalg_norm(2.0, [0i64].as_slice(), false, Kind::Double)
        .clamp_min(1e-300); // ()
    let cos = m.mv(&q) / norms / qn; // (N)
    let cos: Vec<f64> = Vec::<f64>::try_from(&cos)?;
    let mut order: Vec<usize> = (0..cos.len()).filter(|i| !exclude.contains(i)).collect();
    order.sort_by(|&a, &b| cos[b].total_cmp(&cos[a]).then(a.cmp(&b)));
    Ok(order
        .into_iter()
        .take(k)
        .map(|index| Neighbour {
            index,
            cosine: cos[index],
        })
        .collect())
}

/// The tokens nearest to `word` in W_E (the word's own tokens left out), as
/// (token text, cosine).
pub fn nearest_tokens(lm: &LoadedModel, word: &str, k: usize) -> Result<Vec<(String, f64)>> {
    let wv = word_vector(lm, word)?;
    let own: Vec<usize> = wv.ids.iter().map(|&i| i as usize).collect();
    let found = nearest(lm.model.w_e(), &wv.vector, k, &own)?;
    Ok(found
        .into_iter()
        .map(|n| (lm.tokenizer.token_str(n.index as u32), n.cosine))
        .collect())
}

/// The analogy `a : b :: c : ?` in W_E (essay section 7): the tokens nearest (by
/// cosine) to `b - a + c`, leaving out the tokens of the three words themselves, as
/// (token text, cosine). `analogy(lm, "man", "woman", "king", 5)` should find " queen".
pub fn analogy(lm: &LoadedModel, a: &str, b: &str, c: &str, k: usize) -> Result<Vec<(String, f64)>> {
    let (va, vb, vc) = (word_vector(lm, a)?, word_vector(lm, b)?, word_vector(lm, c)?);
    let target: Vec<f64> = (0..va.vector.len())
        .map(|e| vb.vector[e] - va.vector[e] + vc.vector[e])
        .collect();
    let own: Vec<usize> = [&va, &vb, &vc]
        .iter()
        .flat_map(|w| w.ids.iter().map(|&i| i as usize))
        .collect();
    let found = nearest(lm.model.w_e(), &target, k, &own)?;
    Ok(found
        .into_iter()
        .map(|n| (lm.tokenizer.token_str(n.index as u32), n.cosine))
        .collect())
}

/// Which block's output to read: a block number, or its place in the stack. In JSON a
/// number or one of "first", "middle", "last".
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum LayerChoice {
    Index(usize),
    Named(NamedLayer),
}

/// A block by its place in the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NamedLayer {
    First,
    Middle,
    Last,
}

impl<'de> serde::Deserialize<'de> for LayerChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Index(usize),
            Name(String),
        }
        let help = "give a block number or \"first\", \"middle\", \"last\"";
        match Raw::deserialize(d).map_err(|_| serde::de::Error::custom(help))? {
            Raw::Index(l) => Ok(LayerChoice::Index(l)),
            Raw::Name(s) => match s.as_str() {
                "first" => Ok(LayerChoice::Named(NamedLayer::First)),
                "middle" => Ok(LayerChoice::Named(NamedLayer::Middle)),
                "last" => Ok(LayerChoice::Named(NamedLayer::Last)),
                other => Err(serde::de::Error::custom(format!("\"{other}\": {help}"))),
            },
        }
    }
}

/// The block number of `choice` in a model of `n_layer` blocks.
pub fn resolve_layer(choice: LayerChoice, n_layer: usize) -> Result<usize> {
    let l = match choice {
        LayerChoice::Index(l) => l,
        LayerChoice::Named(NamedLayer::First) => 0,
        LayerChoice::Named(NamedLayer::Middle) => n_layer / 2,
        LayerChoice::Named(NamedLayer::Last) => n_layer.saturating_sub(1),
    };
    if l >= n_layer {
        return Err(Error::BadBlock {
            block: l,
            n_blocks: n_layer,
        });
    }
    Ok(l)
}

/// The residual stream leaving block `layer` at every position of `ids`: (T, C).
pub fn hidden_states(lm: &LoadedModel, ids: &[u32], layer: usize) -> Result<Tensor> {
    lm.model.check_hook(HookPoint::ResidPost(layer))?;
    let mut cache = ActivationCache::new(HookFilter::Only(vec![HookPoint::ResidPost(layer)]));
    let _logits = lm.model.run_with_cache(ids, &mut cache)?; // (T, V), not needed here
    Ok(cache.resid_post(layer)?.get(0)) // (T, C)
}

/// Where `needle` first occurs in `hay`.
fn find_sub(hay: &[u32], needle: &[u32]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()] == *needle)
}

/// The contextual vector of `word` in `sentence` at block `layer`: the residual stream
/// at the word's token positions (their mean if it is several tokens). The word is
/// searched as " word", "word", " Word" and "Word" (so a sentence may start with it).
pub fn contextual_vector(lm: &LoadedModel, sentence: &str, word: &str, layer: usize) -> Result<WordVector> {
    let ids = lm.encode_prompt(sentence)?;
    let w = word.trim();
    let cap: String = w
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .chain(w.chars().skip(1))
        .collect();
    for form in [format!(" {w}"), w.to_string(), format!(" {cap}"), cap.clone()] {
        let needle = lm.tokenizer.encode(&form)?;
        if let Some(at) = find_sub(&ids, &needle) {
            let states = hidden_states(lm, &ids, layer)?; // (T, C)
            let pos: Vec<i64> = (at..at + needle.len()).map(|p| p as i64).collect();
            return rows_vector(lm, &states, w, needle, Some(pos), MultiToken::Mean);
        }
    }
    Err(Error::Word { word: word.into(), why: format!("not found as a token sequence in the sentence \"{sentence}\"; use the word as written, separated by spaces") })
}

/// A candidate next token placed in feature space: the hidden state the model would
/// have at the next position if this token came next.
#[derive(Debug, Clone)]
pub struct FanPoint {
    pub id: u32,
    pub token: String,
    pub prob: f64,
    /// (C)
    pub state: Vec<f64>,
}

/// A prompt and its greedy continuation as a path through the residual stream of one
/// block, with optional fans of likely next tokens.
#[derive(Debug, Clone)]
pub struct Trajectory {
    pub layer: usize,
    /// Prompt and continuation token ids.
    pub ids: Vec<u32>,
    pub tokens: Vec<String>,
    /// How many of `ids` are the prompt.
    pub n_prompt: usize,
    /// One hidden state (C) per position.
    pub states: Vec<Vec<f64>>,
    /// `fans[j]`: the top tokens after position `fan_positions[j]`.
    pub fans: Vec<Vec<FanPoint>>,
    pub fan_positions: Vec<usize>,
}

fn rows(t: &Tensor) -> Result<Vec<Vec<f64>>> {
    crate::analysis::pca::rows_of(t)
}

/// Runs `prompt`, continues it greedily for `steps` tokens, and records the hidden state
/// of block `layer` at every position. With `fan_k > 0`, for each position in
/// `fan_at` (indices into the full sequence; each must have a next position, i.e. be
/// before the last) the `fan_k` most likely next tokens are placed by running the
/// sequence up to there plus that token.
pub fn trajectory(
    lm: &LoadedModel,
    prompt: &str,
    steps: usize,
    layer: usize,
    fan_k: usize,
    fan_at: &[usize],
) -> Result<Trajectory> {
    let prompt_ids = lm.encode_prompt(prompt)?;
    let new = sampling::generate(&lm.model, &prompt_ids, steps, Sampling::Greedy, |_| {})?;
    let mut ids = prompt_ids.clone();
    ids.extend(&new);
    let states = rows(&hidden_states(lm, &ids, layer)?)?; // T rows of C
    let mut fans = Vec::new();
    let mut fan_positions = Vec::new();
    for &p in fan_at {
        if p >= ids.len() {
            return Err(Error::Analysis(AnalysisProblem::FanOutside {
                position: p,
                len: ids.len(),
            }));
        }
        let logits = lm.model.logits(&ids[..=p])?; // (p+1, V)
        let top = sampling::top_k(&logits.get(-1), fan_k, &lm.tokenizer)?;
        let mut fan = Vec::new();
        for t in top {
            let mut seq = ids[..=p].to_vec();
            seq.push(t.id);
            let h = hidden_states(lm, &seq, layer)?; // (p+2, C)
            let state = Vec::<f64>::try_from(&h.get(-1).to_kind(Kind::Double))?; // (C)
            fan.push(FanPoint {
                id: t.id,
                token: t.token,
                prob: t.prob,
                state,
            });
        }
        fans.push(fan);
        fan_positions.push(p);
    }
    let tokens = ids.iter().map(|&i| lm.tokenizer.token_str(i)).collect();
    Ok(Trajectory {
        layer,
        ids,
        tokens,
        n_prompt: prompt_ids.len(),
        states,
        fans,
        fan_positions,
    })
}

/// The same path with each point replaced by the mean of the hidden states from
/// position `from` up to it: "the text so far" as one vector (mean pooling), which moves
/// smoothly as the text grows, where single positions jump from token to token. A fan
/// point becomes the mean the text would have if that token came next.
pub fn text_so_far(t: &Trajectory, from: usize) -> Trajectory {
    let c = t.states.first().map_or(0, Vec::len);
    let mut sum = vec![0.0; c];
    let mut prefix_sums = Vec::with_capacity(t.states.len()); // sum over from..=i, and count
    let mut states = Vec::with_capacity(t.states.len());
    for (i, s) in t.states.iter().enumerate() {
        if i >= from {
            sum.iter_mut().zip(s).for_each(|(a, b)| *a += b);
        }
        let n = (i + 1).saturating_sub(from).max(1) as f64;
        prefix_sums.push((sum.clone(), (i + 1).saturating_sub(from)));
        states.push(if i >= from {
            sum.iter().map(|v| v / n).collect()
        } else {
            s.clone()
        });
    }
    let fans = t
        .fans
        .iter()
        .zip(&t.fan_positions)
        .map(|(fan, &p)| {
            let (ps, n) = &prefix_sums[p];
            fan.iter()
                .map(|f| FanPoint {
                    state: ps
                        .iter()
                        .zip(&f.state)
                        .map(|(a, b)| (a + b) / (*n as f64 + 1.0))
                        .collect(),
                    ..f.clone()
                })
                .collect()
        })
        .collect();
    Trajectory {
        states,
        fans,
        ..t.clone()
    }
}

/// The mean row of W_E (C): a direction every token's embedding shares a part of.
pub fn mean_embedding(lm: &LoadedModel) -> Result<Vec<f64>> {
    let m = lm.model.w_e().to_kind(Kind::Double); // (V, C)
    Ok(Vec::<f64>::try_from(&m.mean_dim(0, false, Kind::Double))?) // (C)
}

/// The cosine of `a` and `b` after subtracting `mean` from both: how alike they are apart
/// from what every embedding shares ([`mean_embedding`]).
pub fn centered_cosine(a: &[f64], b: &[f64], mean: &[f64]) -> f64 {
    let sub = |v: &[f64]| v.iter().zip(mean).map(|(x, m)| x - m).collect::<Vec<f64>>();
    cosine(&sub(a), &sub(b))
}

/// What the cosine of two tokens taken at random is: the baseline against which "alike"
/// and "unrelated" are judged.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CosineBaseline {
    /// Pairs of distinct tokens drawn.
    pub pairs: usize,
    /// Mean and standard deviation of their cosines.
    pub mean: f64,
    pub std: f64,
    /// The same after subtracting the mean embedding from both ([`centered_cosine`]).
    pub centered_mean: f64,
    pub centered_std: f64,
    /// The mean over the drawn tokens of each one's cosine with the mean embedding: how
    /// strongly they all lean the same way.
    pub with_mean_direction: f64,
}

/// The cosines of `pairs` pairs of distinct tokens of the vocabulary drawn at random
/// (seeded), raw and centred.
pub fn random_pair_cosines(lm: &LoadedModel, pairs: usize, seed: u64) -> Result<CosineBaseline> {
    use rand::{Rng, SeedableRng};
    let vocab = lm.model.info().vocab_size.min(lm.model.w_e().size()[0] as usize);
    if pairs == 0 || vocab < 2 {
        return Err(crate::train::bad_hyper_parameter(
            "pairs",
            pairs,
            "at least 1 (and a vocabulary of 2 tokens)",
        ));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut a_ids = Vec::with_capacity(pairs);
    let mut b_ids = Vec::with_capacity(pairs);
    while a_ids.len() < pairs {
        let (a, b) = (rng.random_range(0..vocab) as i64, rng.random_range(0..vocab) as i64);
        if a != b {
            a_ids.push(a);
            b_ids.push(b);
        }
    }
    let m = lm.model.w_e().to_kind(Kind::Double); // (V, C)
    let mean = m.mean_dim(0, true, Kind::Double); // (1, C)
    let rows = |ids: &[i64]| m.index_select(0, &Tensor::from_slice(ids).to_device(m.device())); // (n, C)
    let (a, b) = (rows(&a_ids), rows(&b_ids)); // (n, C) each
    let cos = |x: &Tensor, y: &Tensor| -> Result<Vec<f64>> {
        let c = Tensor::cosine_similarity(x, y, 1, 1e-12); // (n)
        Ok(Vec::<f64>::try_from(&c)?)
    };
    let raw = cos(&a, &b)?;
    let centred = cos(&(&a - &mean), &(&b - &mean))?;
    let lean = cos(&a, &mean.expand_as(&a))?;
    let stats = |v: &[f64]| -> (f64, f64) {
        let n = v.len() as f64;
        let mu = v.iter().sum::<f64>() / n;
        (mu, (v.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / n).sqrt())
    };
    let ((mean_raw, std_raw), (mean_c, std_c)) = (stats(&raw), stats(&centred));
    Ok(CosineBaseline {
        pairs,
        mean: mean_raw,
        std: std_raw,
        centered_mean: mean_c,
        centered_std: std_c,
        with_mean_direction: stats(&lean).0,
    })
}

/// The mean distance (Euclidean, in all C dimensions) between consecutive points of a
/// path: how far it jumps per token. 0 for a path of fewer than two points.
pub fn mean_step_length(t: &Trajectory) -> f64 {
    let steps: Vec<f64> = t
        .states
        .windows(2)
        .map(|w| w[0].iter().zip(&w[1]).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt())
        .collect();
    if steps.is_empty() {
        0.0
    } else {
        steps.iter().sum::<f64>() / steps.len() as f64
    }
}

/// The mean cosine of the static embeddings of two words of the same group, and of two
/// words of different groups ([`word_vector`], so words of several tokens take the mean):
/// (within, between). Groups that the embeddings keep apart have within > between.
/// Needs a group with two words and at least two groups.
pub fn within_between(lm: &LoadedModel, groups: &[Vec<String>]) -> Result<(f64, f64)> {
    let vecs: Vec<Vec<Vec<f64>>> = groups
        .iter()
        .map(|g| Ok(word_vectors(lm, g)?.into_iter().map(|w| w.vector).collect()))
        .collect::<Result<_>>()?;
    let (mut within, mut between) = (Vec::new(), Vec::new());
    for (gi, g) in vecs.iter().enumerate() {
        for (i, a) in g.iter().enumerate() {
            within.extend(g[i + 1..].iter().map(|b| cosine(a, b)));
            for h in &vecs[gi + 1..] {
                between.extend(h.iter().map(|b| cosine(a, b)));
            }
        }
    }
    if within.is_empty() || between.is_empty() {
        return Err(crate::train::bad_hyper_parameter(
            "word groups",
            format!("{} groups", groups.len()),
            "at least two groups, one of them with two words or more",
        ));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Ok((mean(&within), mean(&between)))
}
