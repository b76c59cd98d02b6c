//! The figure builder end to end, through the `figures` binary: stale-only rebuilds
//! (touch an input: exactly the dependent figures rebuild; nothing changed: nothing
//! rebuilds), --check, bad input (unknown id, unavailable model, corrupt stamp,
//! unwritable folder), atomic writes under an interrupted build, the chapter-1 CSVs
//! against what the CLI prints for the same model and seed, and the gallery loading in
//! headless Chromium. The model is a small synthetic GPT-2 (fast); the numbers do not
//! matter here, only that the builder and the CLI agree.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIGURES: &str = env!("CARGO_BIN_EXE_figures");
const CLI: &str = env!("CARGO_BIN_EXE_gpt2-explorer");
/// Every figure of the registry, and those made from a model (each chapter adds its own).
fn all() -> usize {
    gpt2_explorer::figures::registry().len()
}
fn model_figures() -> usize {
    gpt2_explorer::figures::registry()
        .iter()
        .filter(|f| f.made.needs_model())
        .count()
}

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let out = Command::new(CLI)
            .args(["synthetic", "--size", "small", "--out"])
            .arg(tmp.path().join("model"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "making the synthetic model failed (run `make setup`?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Env { tmp }
    }
    fn model(&self) -> PathBuf {
        self.tmp.path().join("model")
    }
    fn out(&self) -> PathBuf {
        self.tmp.path().join("figs")
    }
    fn figures(&self, args: &[&str]) -> Output {
        Command::new(FIGURES)
            .args(args)
            .arg("--model")
            .arg(self.model())
            .arg("--out")
            .arg(self.out())
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// (built, up to date, failed) from the summary line.
fn counts(o: &Output) -> (usize, usize, usize) {
    let s = stdout(o);
    let line = s
        .lines()
        .find(|l| l.starts_with("figures: "))
        .unwrap_or_else(|| panic!("no summary line in {s:?} / {}", String::from_utf8_lossy(&o.stderr)));
    let n: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .take(3)
        .map(|w| w.parse().unwrap())
        .collect();
    (n[0], n[1], n[2])
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn only_stale_figures_rebuild() {
    let env = Env::new();
    let first = env.figures(&["all"]);
    assert_eq!(
        counts(&first),
        (all(), 0, 0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for id in [
        "next-word-top5",
        "greedy-long",
        "gpt3-quotes",
        "rank-probability-loglog",
    ] {
        for ext in ["png", "svg", "csv"] {
            let p = env.out().join(format!("{id}.{ext}"));
            assert!(
                std::fs::metadata(&p).map(|m| m.len() > 0).unwrap_or(false),
                "{} missing or empty",
                p.display()
            );
        }
    }
    assert_eq!(
        counts(&env.figures(&[])),
        (0, all(), 0),
        "a second run must rebuild nothing"
    );
    assert!(
        env.figures(&["--check"]).status.success(),
        "--check must pass when nothing is stale"
    );

    // The model changes: exactly the model-made figures are stale.
    let w = env.model().join("model.safetensors");
    let f = std::fs::File::options().write(true).open(&w).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    drop(f);
    let check = env.figures(&["--check"]);
    assert!(!check.status.success(), "--check must fail when figures are stale");
    assert_eq!(
        stdout(&check).lines().filter(|l| l.starts_with("stale: ")).count(),
        model_figures(),
        "{}",
        stdout(&check)
    );
    assert!(
        !stdout(&check).contains("gpt3-quotes"),
        "a figure without a model is not stale when the model changes"
    );
    assert_eq!(counts(&env.figures(&[])), (model_figures(), all() - model_figures(), 0));

    // A missing output or a corrupt stamp rebuilds just that figure, without a crash.
    std::fs::remove_file(env.out().join("greedy-long.svg")).unwrap();
    std::fs::write(env.out().join(".stamps/sampled-five.json"), "{ corrupt").unwrap();
    assert_eq!(counts(&env.figures(&[])), (2, all() - 2, 0));
    // Named targets and --force.
    assert_eq!(counts(&env.figures(&["next-word-top5", "--force"])), (1, 0, 0));
}

#[test]
fn bad_input_ends_in_one_clear_error() {
    let env = Env::new();
    let o = env.figures(&["no-such-figure"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("unknown figure id `no-such-figure`") && err.contains("next-word-top5"),
        "{err}"
    );

    // The model is unavailable: model figures fail with the fix, the rest build.
    let o = Command::new(FIGURES)
        .args(["--model", "/nonexistent/model", "--out"])
        .arg(env.out())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert_eq!(
        counts(&o),
        (all() - model_figures(), 0, model_figures()),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("does not exist"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(env.out().join("gpt3-quotes.png").is_file());

    // An output folder that cannot be written.
    let file = env.tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let o = Command::new(FIGURES)
        .args(["gpt3-quotes", "--out"])
        .arg(file.join("sub"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.starts_with("error: ") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn chapter_one_csvs_equal_what_the_cli_prints() {
    let env = Env::new();
    assert_eq!(
        counts(&env.figures(&["next-word-top5", "sampled-continuation", "greedy-long"])).0,
        3
    );
    let prompt = "The best thing about AI is its ability to";
    let cli = |args: &[&str]| -> serde_json::Value {
        let o = Command::new(CLI)
            .args(args)
            .arg("--model")
            .arg(env.model())
            .arg("--json")
            .arg(prompt)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let top = cli(&["next-token", "--top", "5"]);
    let rows = csv_rows(&env.out().join("next-word-top5.csv"));
    assert_eq!(rows.len(), 5);
    for (row, t) in rows.iter().zip(top["top"].as_array().unwrap()) {
        assert_eq!(row[1], t["id"].to_string());
        let (a, b) = (row[3].parse::<f64>().unwrap(), t["prob"].as_f64().unwrap());
        assert!((a - b).abs() < 1e-12, "probability {a} in the CSV, {b} from the CLI");
    }
    let sampled = cli(&[
        "generate",
        "--temperature",
        "0.8",
        "--seed",
        "1",
        "--max-new-tokens",
        "7",
    ]);
    let ids: Vec<String> = csv_rows(&env.out().join("sampled-continuation.csv"))
        .iter()
        .map(|r| r[1].clone())
        .collect();
    let want: Vec<String> = sampled["generated_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(
        ids, want,
        "sampled-continuation (seed 1) differs from `generate --seed 1`"
    );
    let greedy = cli(&["generate", "--temperature", "0", "--max-new-tokens", "100"]);
    let ids: Vec<String> = csv_rows(&env.out().join("greedy-long.csv"))
        .iter()
        .map(|r| r[1].clone())
        .collect();
    let want: Vec<String> = greedy["generated_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(ids, want);
}

#[test]
fn an_interrupted_build_leaves_no_partial_file() {
    let env = Env::new();
    for delay_ms in [300u64, 900, 1500] {
        let mut child = Command::new(FIGURES)
            .args(["--force", "--jobs", "2", "--model"])
            .arg(env.model())
            .arg("--out")
            .arg(env.out())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        for entry in std::fs::read_dir(env.out()).into_iter().flatten().flatten() {
            let p = entry.path();
            match p.extension().and_then(|e| e.to_str()) {
                Some("png") => {
                    let b = std::fs::read(&p).unwrap();
                    assert!(
                        b.starts_with(b"\x89PNG") && b.ends_with(&[0xAE, 0x42, 0x60, 0x82]),
                        "{} is not a whole PNG",
                        p.display()
                    );
                }
                Some("svg") => assert!(
                    std::fs::read_to_string(&p).unwrap().trim_end().ends_with("</svg>"),
                    "{} is not a whole SVG",
                    p.display()
                ),
                Some("csv") => {
                    let _ = csv_rows(&p);
                }
                _ => {}
            }
        }
    }
    // The next run cleans up and completes.
    let o = env.figures(&[]);
    assert_eq!(counts(&o).2, 0);
    let leftovers: Vec<_> = std::fs::read_dir(env.out())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

#[test]
fn the_gallery_loads_every_image_in_headless_chromium() {
    let env = Env::new();
    assert_eq!(counts(&env.figures(&[])).0, all());
    let html = std::fs::read_to_string(env.out().join("index.html")).unwrap();
    assert!(
        html.contains("It's just adding one word at a time") && html.contains("next-word-top5.png"),
        "gallery content"
    );
    assert!(
        html.contains("<nav class=\"toc\">") && html.contains("href=\"#attention-view\""),
        "table of contents"
    );
    assert!(
        html.contains("href=\"attention-view.html\">interactive: attention-view</a>"),
        "static figures link their interactive page"
    );
    for id in [
        "attention-view",
        "generation-stepper",
        "logit-lens-view",
        "embedding-view",
    ] {
        assert!(env.out().join(format!("{id}.html")).is_file(), "{id}.html written");
        assert!(html.contains(&format!("<iframe src=\"{id}.html\"")), "{id} has a card");
    }
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("headless Chromium is missing: `make test` installs Debian's chromium (scripts/setup-test.sh)");
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", env.out().join("index.html").display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    let pictures = gpt2_explorer::figures::registry().iter().filter(|f| !f.page).count();
    let want = format!("data-images-ok=\"{n}/{n}\"", n = pictures);
    assert!(
        dom.contains(&want),
        "Chromium did not load every image ({want} not in the page's DOM; stderr: {})",
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .take(5)
            .collect::<Vec<_>>()
            .join(" | ")
    );
}

/// Copies the sources the stamps hash (src/, Cargo.lock, scripts/fetch-corpora.sh) to
/// `to`, so that a test can edit them without touching the repository.
fn copy_sources(to: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let dest = to.join(p.file_name().unwrap());
            if p.is_dir() {
                copy_dir(&p, &dest);
            } else {
                std::fs::copy(&p, &dest).unwrap();
            }
        }
    }
    copy_dir(&root.join("src"), &to.join("src"));
    std::fs::create_dir_all(to.join("scripts")).unwrap();
    std::fs::copy(root.join("Cargo.lock"), to.join("Cargo.lock")).unwrap();
    std::fs::copy(
        root.join("scripts/fetch-corpora.sh"),
        to.join("scripts/fetch-corpora.sh"),
    )
    .unwrap();
}

/// The stamp covers every source file, not a hand-written list per figure: editing
/// `src/sampling.rs` (which chapter 1's figures run through, though `chapter1.rs` never
/// named it) makes them stale; so does `Cargo.lock`.
#[test]
fn editing_any_source_file_makes_the_figures_stale() {
    use gpt2_explorer::figures::{build, Options};
    let env = Env::new();
    let sources = env.tmp.path().join("sources");
    copy_sources(&sources);
    let ids: Vec<String> = ["next-word-top5", "sampled-continuation", "gpt3-quotes"]
        .map(String::from)
        .to_vec();
    let opts = |check: bool| Options {
        ids: ids.clone(),
        out: env.out(),
        model: env.model().display().to_string(),
        force: false,
        check,
        jobs: 1,
        progress: false,
        source_root: sources.clone(),
        device: tch::Device::Cpu,
    };
    let first = build(&opts(false)).unwrap();
    assert_eq!(first.built.len(), 3, "{:?}", first.failed);
    assert_eq!(
        build(&opts(true)).unwrap().stale.len(),
        0,
        "nothing changed, nothing is stale"
    );

    let sampling = sources.join("src/sampling.rs");
    let mut text = std::fs::read_to_string(&sampling).unwrap();
    text.push_str("\n// an edit\n");
    std::fs::write(&sampling, text).unwrap();
    let check = build(&opts(true)).unwrap();
    assert_eq!(check.stale, ids, "every figure is stale after src/sampling.rs changed");

    // Rebuilt, then Cargo.lock changes: stale again.
    build(&opts(false)).unwrap();
    assert!(build(&opts(true)).unwrap().stale.is_empty());
    let lock = sources.join("Cargo.lock");
    let text = std::fs::read_to_string(&lock).unwrap() + "\n";
    std::fs::write(&lock, text).unwrap();
    assert_eq!(
        build(&opts(true)).unwrap().stale,
        ids,
        "a new Cargo.lock makes the figures stale"
    );
}

#[test]
fn repeated_run_share_counts_runs_seen_before() {
    use gpt2_explorer::sampling::repeated_run_share;
    // Runs of 3 in 1 2 3 1 2 3 1 2 3: 123 231 312 new, then 123 231 312 123 repeat: 4 of 7.
    assert!((repeated_run_share(&[1, 2, 3, 1, 2, 3, 1, 2, 3], 3) - 4.0 / 7.0).abs() < 1e-12);
    assert_eq!(repeated_run_share(&[1, 2, 3, 4, 5, 6], 2), 0.0);
    assert_eq!(repeated_run_share(&[7; 3], 3), 0.0, "too short for one repeat");
    assert_eq!(repeated_run_share(&[7; 5], 0), 0.0);
    assert!((repeated_run_share(&[7; 5], 2) - 3.0 / 4.0).abs() < 1e-12);
}
