//! The library's one error type. Every failure a user can cause (a missing or corrupt
//! checkpoint, a bad prompt, a bad sampling setting) ends as one of these variants, with
//! a message that names the thing and, where there is one, the fix. Binaries wrap it in
//! `anyhow` and print it as one line.

use std::path::PathBuf;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    #[error("model folder {0} does not exist (give a hub name such as `gpt2`, or a folder holding config.json and model.safetensors)")]
    MissingModelDir(PathBuf),

    #[error("{0} is a file, not a model folder (give the folder that holds config.json and model.safetensors)")]
    NotAFolder(PathBuf),

    #[error("{path} is missing: {what}")]
    MissingFile { path: PathBuf, what: String },

    #[error("{path}: invalid config.json: {msg}")]
    Config { path: PathBuf, msg: String },

    #[error("a model that cannot be run: {0}")]
    BadConfig(#[from] crate::model::config::ConfigError),

    #[error(
        "a hook at {hook} returned a replacement of shape {got:?}, but the activation there has shape {expected:?}"
    )]
    BadReplacement {
        hook: String,
        expected: Vec<i64>,
        got: Vec<i64>,
    },

    #[error("{path}: not a readable safetensors file ({msg}); it may be truncated or corrupt: delete it and download it again")]
    CorruptCheckpoint { path: PathBuf, msg: String },

    #[error("checkpoint {path}: tensor `{name}` {msg}")]
    Tensor { path: PathBuf, name: String, msg: String },

    #[error("tokenizer{}: {source}", if what.is_empty() { String::new() } else { format!(" {what}") })]
    Tokenizer { what: String, source: tokenizers::Error },

    #[error("the prompt is empty: give at least one character of text")]
    EmptyPrompt,

    #[error("the prompt has {len} tokens but the model's context window is {max} (n_positions); shorten the prompt")]
    TooLong { len: usize, max: usize },

    #[error("the prompt has {prompt} tokens and {max_new} new tokens need {} positions, but the model's context window is {max} (n_positions); ask for at most {} new tokens or shorten the prompt", prompt + max_new - 1, (max + 1).saturating_sub(*prompt))]
    TooLongToGenerate { prompt: usize, max_new: usize, max: usize },

    #[error("token id {id} is outside the model's vocabulary (vocab_size {vocab}): the tokenizer does not belong to this checkpoint; use the tokenizer files that came with it")]
    BadTokenId { id: i64, vocab: usize },

    #[error("temperature must be a finite number >= 0 (0 means greedy), got {0}")]
    BadTemperature(f64),

    #[error("top-k must be between 1 and the vocabulary size {vocab}, got {k}")]
    BadTopK { k: usize, vocab: usize },

    #[error("block {block} does not exist: the model has {n_blocks} blocks (0..{n_blocks})")]
    BadBlock { block: usize, n_blocks: usize },

    #[error("head {head} does not exist: the model has {n_head} heads per block (0..{n_head})")]
    BadHead { head: usize, n_head: usize },

    #[error("neuron {neuron} does not exist: each MLP has {d_mlp} neurons (0..{d_mlp})")]
    BadNeuron { neuron: usize, d_mlp: usize },

    #[error(
        "`{item}` in `{text}` is not a head: give block.head pairs counted from 0, separated by commas, e.g. 0.1,5.3"
    )]
    BadSiteList { item: String, text: String },

    #[error("ablation mode `{0}` is not known: use zero or mean")]
    BadAblateMode(String),

    #[error("hook `{0}` cannot be patched: use resid_pre, attn_out or mlp_out")]
    BadPatchHook(String),

    #[error("the clean prompt has {clean} tokens and the corrupted one {corrupt}: patching copies position by position, so give two prompts of the same token count")]
    PatchLengths { clean: usize, corrupt: usize },

    #[error("a steering vector must have the model's width {width}, got shape {got:?}")]
    BadSteeringVector { got: Vec<i64>, width: usize },

    #[error("position {position} is beyond the prompt, which has {len} tokens (positions 0..{len})")]
    BadPosition { position: usize, len: usize },

    #[error("`{word}` is {n} tokens ({tokens}), not one: say how to combine them, the first token or the mean of the tokens (MultiToken::First or MultiToken::Mean), or give a word that is one token")]
    MultiToken { word: String, n: usize, tokens: String },

    #[error("the {what} `{text}` is {n} tokens ({tokens}), not one: pick a word that is one token for this model (mind the leading space)")]
    NotOneToken {
        what: String,
        text: String,
        n: usize,
        tokens: String,
    },

    #[error("{0}")]
    Analysis(#[from] AnalysisProblem),

    #[error("{what} does not exist in {model}: {why}")]
    Absent { what: String, model: String, why: String },

    #[error("{0} was not captured: add it to the capture filter before running the model")]
    NotCaptured(crate::hooks::HookPoint),

    #[error("unknown model `{name}`: {why}")]
    UnknownModel { name: String, why: String },

    #[error("model `{name}` is not in the Hugging Face cache ({tried}) and could not be downloaded from the hub: {why}. Fix: connect to the internet once (without --offline or HF_HUB_OFFLINE=1), point HF_HUB_CACHE or HF_HOME at a cache that has it, or pass --model with a local folder (config.json, model.safetensors, tokenizer.json or vocab.json + merges.txt)")]
    Offline { name: String, tried: String, why: String },

    #[error("unknown figure id `{id}`; valid ids: {known}")]
    UnknownFigure { id: String, known: String },

    #[error("figure `{figure}` has no parameter `{key}`; its parameters: {known}")]
    UnknownParameter { figure: String, key: String, known: String },

    #[error("{origin}: parameter `{key}`: {msg}")]
    BadParameter { origin: String, key: String, msg: String },

    #[error("figure `{figure}`: {msg}")]
    BadParameters { figure: String, msg: String },

    #[error("{origin}: {msg}")]
    FigureInput { origin: String, msg: String },

    #[error("figure `{figure}` needs a model: pass Some(&lm) (e.g. LoadedModel::load(\"auto\", true)?)")]
    NoModel { figure: String },

    /// An interactive view (`views`) asked for more than it can show readably.
    #[error("the {view} shows at most {max} tokens and this prompt has {len}: shorten the prompt")]
    ViewTooLong { view: &'static str, len: usize, max: usize },

    /// Data an interactive view cannot show.
    #[error("interactive view: {0}")]
    View(String),

    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),

    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),

    #[error("figure `{figure}`: {source}")]
    Render {
        figure: String,
        source: crate::plot::PlotError,
    },

    #[error("cannot read the program's sources under {root} to stamp the figures ({source}); run the builder from its repository, where src/ and Cargo.lock are")]
    Sources { root: PathBuf, source: std::io::Error },

    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),

    #[error("GGUF file {path}: {msg}")]
    Gguf { path: PathBuf, msg: String },

    /// A device name that is none of cpu, cuda, cuda:N, auto (see `model::device`).
    #[error("unknown device `{asked}`: use cpu, cuda (cuda:N) or auto")]
    UnknownDevice { asked: String },

    #[error("device {asked}: this build has no GPU support; rebuild with `--features cuda` against a CUDA libtorch (`make setup-cuda` then `make build-cuda`, see BENCHMARKS.md), or use the cpu")]
    CudaNotBuilt { asked: String },

    #[error("device {asked}: libtorch sees no CUDA GPU (check `nvidia-smi` and the NVIDIA driver), or use the cpu")]
    NoCuda { asked: String },

    #[error("device {asked}: there are only {count} CUDA GPUs (cuda:0..cuda:{})", count.saturating_sub(1))]
    CudaIndex { asked: String, count: usize },

    #[error("the sequence {sequence:?} {problem}")]
    BadParens { sequence: String, problem: ParensProblem },

    #[error("the sequence is empty: give at least one pair, e.g. \"()\"")]
    EmptyParens,

    #[error("no test image of digit {digit}")]
    NoTestImage { digit: i64 },

    #[error("nothing to compare: give at least one model")]
    NothingToCompare,

    #[error("corpus {path}: {msg}")]
    Corpus { path: PathBuf, msg: String },

    #[error("n-grams: {0}")]
    Ngram(#[from] NgramProblem),

    #[error("{name} must be {rule}, got {value}")]
    BadHyperParameter { name: String, value: String, rule: String },

    #[error("training: {0}")]
    Train(#[from] TrainProblem),

    #[error("PCA needs more points than components: got {points} points for {components} components (n points span at most n - 1 directions); add points or ask for fewer components")]
    PcaTooFewPoints { points: usize, components: usize },

    #[error("word `{word}`: {why}")]
    Word { word: String, why: String },

    #[error("{path}: {msg}")]
    BadData { path: PathBuf, msg: String },

    #[error("{origin}: {msg}")]
    ChatTemplate { origin: String, msg: String },

    #[error("a continuation to score is empty: give at least one character, e.g. \" are\" (mind the leading space)")]
    EmptyContinuation,

    #[error("nothing to choose between: give at least one continuation")]
    NoAlternatives,
}

/// What is wrong with a sequence of parentheses (see [`Error::BadParens`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParensProblem {
    #[error("is not balanced: the \")\" at position {0} closes nothing")]
    ClosesNothing(usize),
    #[error("may hold only \"(\" and \")\", found {0:?}")]
    NotAParenthesis(char),
    #[error("is not balanced: {0} \"(\" never closed")]
    NeverClosed(usize),
}

/// What an analysis (PCA, matrix statistics, word vectors, attention scores) was given
/// that it cannot work with, or a check of its own result that failed (see
/// [`Error::Analysis`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisProblem {
    #[error("PCA wants a matrix of points (N, C), got shape {shape:?}")]
    PcaShape { shape: Vec<i64> },
    #[error("PCA: ask for at least one component")]
    PcaNoComponents,
    #[error("PCA: {k} components asked of points with only {c} coordinates; ask for at most {c}")]
    PcaTooManyComponents { k: usize, c: usize },
    #[error("PCA: point {i} has {len} coordinates, point 0 has {c}")]
    PcaRagged { i: usize, len: usize, c: usize },
    #[error("PCA: the points contain NaN or infinite values")]
    PcaNotFinite,
    #[error("PCA ({method}): components {i} and {j} are not orthonormal (dot {dot})")]
    PcaNotOrthonormal {
        method: &'static str,
        i: usize,
        j: usize,
        dot: f64,
    },
    #[error("PCA ({method}): component {i} is not an eigenvector of the covariance (residual {residual:e})")]
    PcaNotEigenvector {
        method: &'static str,
        i: usize,
        residual: f64,
    },
    #[error("PCA ({method}): a direction outside the {k} components carries variance {rest}, more than component {k}'s {last}")]
    PcaMissedDirection {
        method: &'static str,
        k: usize,
        rest: f64,
        last: f64,
    },
    #[error("PCA ({method}): explained variances {explained:?} are not decreasing or exceed the total {total}")]
    PcaVariances {
        method: &'static str,
        explained: Vec<f64>,
        total: f64,
    },
    #[error("PCA (linfa-reduction): {0}")]
    Linfa(String),
    #[error("PCA (linfa-reduction) panicked")]
    LinfaPanicked,
    #[error("PCA (linfa-reduction): components of shape {shape:?}, wanted ({k}, {c})")]
    LinfaShape { shape: Vec<usize>, k: usize, c: usize },
    #[error("a {rows}x{cols} matrix needs {} values, got {got}", rows * cols)]
    MatrixSize { rows: usize, cols: usize, got: usize },
    #[error("a {win_rows}x{win_cols} moving-average window does not fit a {rows}x{cols} matrix: give a window between 1x1 and {rows}x{cols}")]
    WindowTooBig {
        win_rows: usize,
        win_cols: usize,
        rows: usize,
        cols: usize,
    },
    #[error("a histogram needs at least one bin")]
    NoBins,
    #[error("a histogram of no values: give at least one value")]
    NoValues,
    #[error("cannot histogram the non-finite value {0}")]
    NotFinite(f64),
    #[error("histogram range {lo}..{hi} must be finite")]
    BadRange { lo: f64, hi: f64 },
    #[error("nearest neighbours: a vector of length {len} against a matrix of shape {shape:?}")]
    NeighbourShape { len: usize, shape: Vec<i64> },
    #[error("fan at position {position}: the sequence has {len} positions")]
    FanOutside { position: usize, len: usize },
    #[error("scoring previous-token heads needs a prompt of at least two tokens")]
    PromptTooShort,
    #[error("a path of {points} points has fewer than two successive steps to compare: give at least 3 points (a longer prompt or more steps)")]
    PathTooShort { points: usize },
    #[error("path point {i} has {len} coordinates, point 0 has {c} (every point needs the same number, at least one)")]
    PathRagged { i: usize, len: usize, c: usize },
    #[error("the path contains NaN or infinite values")]
    PathNotFinite,
    #[error("a shuffled baseline needs at least one shuffle")]
    NoShuffles,
}

/// What went wrong counting or sampling n-grams (see [`Error::Ngram`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NgramProblem {
    #[error("nothing to sample from: every count is zero")]
    NothingToSample,
    #[error("the order n must be at least 1 (1 = single letters, 2 = pairs of letters, …)")]
    ZeroOrder,
    #[error("letter n-grams go up to n = {max}, got n = {n}")]
    LetterOrderTooHigh { n: usize, max: usize },
    #[error("the text is too small for letter {n}-grams: it has {letters} letters a-z")]
    TooLittleText { n: usize, letters: u64 },
    #[error("the letter-pair matrix needs a 2-gram model, not n = {n}")]
    NotPairs { n: usize },
    #[error("word n-grams are counted for n = 1, 2 or 3, got n = {n}")]
    WordOrder { n: usize },
    #[error("word chains need 2-gram counts: count with order 2")]
    NoPairCounts,
    #[error("the start word `{start}` does not occur in the corpus; pick a word that does")]
    UnknownStart { start: String },
}

/// What went wrong training a net or fitting a curve (see [`Error::Train`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainProblem {
    #[error("fit needs the same number (>= 1) of inputs and targets, got {inputs:?} and {targets:?}")]
    ShapeMismatch { inputs: Vec<i64>, targets: Vec<i64> },
    #[error("the loss became {loss} after {epochs} epochs: lower the learning rate (now {lr})")]
    DivergedEpoch { loss: f64, epochs: usize, lr: f64 },
    #[error("the loss became {loss} at step {step}: lower the learning rate (now {lr})")]
    DivergedStep { loss: f64, step: usize, lr: f64 },
    #[error("cache name `{name}`: use letters, digits, '-' and '_' only")]
    BadCacheName { name: String },
    #[error("a least-squares fit of {k} basis functions needs at least {k} points, got {n}")]
    TooFewPoints { k: usize, n: usize },
    #[error("least squares: a basis function or a data value is not finite (1/x at x = 0?)")]
    NotFinite,
    #[error("least squares: the basis functions are linearly dependent on these points ({basis} adds nothing)")]
    Dependent { basis: String },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
