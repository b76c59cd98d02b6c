//! Progress goes to the sink the caller installs, never straight to the terminal: a
//! recording sink sees one task per training run with every step and the loss in its
//! messages, and a run that asks for no progress reports nothing.

use std::sync::{Arc, Mutex};

use gpt2_explorer::progress::{self, Sink, Task};
use gpt2_explorer::train::{self, Activation, DenseNet, Loss, Optimizer, TrainConfig};
use tch::{Kind, Tensor};

type Log = Arc<Mutex<Vec<String>>>;

struct Recorder(Log);
struct Recorded(Log);

impl Sink for Recorder {
    fn start(&self, what: &str, len: u64) -> Box<dyn Task> {
        self.0.lock().unwrap().push(format!("start {what} {len}"));
        Box::new(Recorded(self.0.clone()))
    }
}

impl Task for Recorded {
    fn update(&self, pos: u64, msg: &str) {
        self.0.lock().unwrap().push(format!("{pos} {msg}"));
    }
    fn finish(&self) {
        self.0.lock().unwrap().push("finish".into());
    }
}

#[test]
fn training_reports_to_the_installed_sink_only_when_asked() {
    let log: Log = Arc::default();
    assert!(progress::set_sink(Box::new(Recorder(log.clone()))));
    assert!(
        !progress::set_sink(Box::new(Recorder(log.clone()))),
        "a second sink is refused"
    );
    let x = Tensor::linspace(-1.0, 1.0, 32, (Kind::Float, tch::Device::Cpu)).unsqueeze(1); // (32, 1)
    let y = &x * 2.0; // (32, 1)
    let mut cfg = TrainConfig {
        seed: 1,
        optimizer: Optimizer::Adam,
        lr: 0.01,
        iterations: 5,
        batch_size: 8,
        progress: true,
    };
    let (vs, net) = train::seeded(1, |p| DenseNet::new(p, &[1, 4, 1], Activation::Relu)).unwrap();
    let h = train::fit(&vs, &cfg, &x, &y, Loss::Mse, |xb| net.forward(xb)).unwrap();
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.first().map(String::as_str), Some("start training 5"), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("finish"));
    assert_eq!(seen.len(), 7, "start, 5 steps, finish: {seen:?}");
    assert!(
        seen[5].starts_with("5 loss ") && seen[5].contains(&format!("{:.4}", h.loss[4])),
        "{seen:?}"
    );
    log.lock().unwrap().clear();
    cfg.progress = false;
    let _ = train::fit(&vs, &cfg, &x, &y, Loss::Mse, |xb| net.forward(xb)).unwrap();
    assert!(
        log.lock().unwrap().is_empty(),
        "progress: false reported {:?}",
        log.lock().unwrap()
    );
}
