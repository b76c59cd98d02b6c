//! Essay section 6 (inside the model): the analysis against hand-computed small cases,
//! attention patterns (rows sum to 1, causal), the embedding module against rows of
//! W_E / W_pos, the logit lens against the HF `transformers` logits of the parity
//! fixtures (scripts/parity/make_fixtures.py, make_llama_fixtures.py), and every
//! section-6 figure built on a synthetic GPT-2 and on SmolLM2 with its CSV checked
//! against numbers computed here another way (straight from the weights or captures).

mod parity_support;

mod common;
use common::{smollm2, tokenizer_dir};

use std::path::Path;

use gpt2_explorer::analysis::attention::{self, previous_token_score};
use gpt2_explorer::analysis::embedding::{text_vector, MultiToken};
use gpt2_explorer::analysis::embedding_module::embedding_module;
use gpt2_explorer::analysis::lens::{lens_logits, logit_lens};
use gpt2_explorer::analysis::matrix::{count_beyond_sigmas, gaussian_two_tail, histogram, moving_average_2d, Matrix};
use gpt2_explorer::figures::{self, chapter6, Figure};
use gpt2_explorer::synthetic::{self, Layout};
use gpt2_explorer::{
    ActivationCache, Error, Gpt2, Gpt2Config, HookFilter, HookPoint, LanguageModel, Llama, LoadedModel,
};
use parity_support::{assert_close, Reference};
use serde_json::json;
use tch::{Device, Kind};

const IDS: [&str; 10] = [
    "embedding-module-diagram",
    "embedding-module",
    "attention-block-diagram",
    "attention-block1-heads",
    "attn-proj-matrix",
    "attn-proj-matrix-smoothed",
    "attention-head1-blocks",
    "attn-proj-matrices-all",
    "weight-histograms",
    "logit-lens",
];

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

// ---------------------------------------------------------------- analysis, by hand

#[test]
fn moving_average_equals_hand_computed_means() {
    let m = Matrix::new(3, 4, (1..=12).map(f64::from).collect()).unwrap();
    // 2x2 windows of [[1 2 3 4] [5 6 7 8] [9 10 11 12]]: (1+2+5+6)/4 = 3.5, ...
    let s = moving_average_2d(&m, 2, 2).unwrap();
    assert_eq!((s.rows, s.cols), (2, 3));
    assert_eq!(s.values, vec![3.5, 4.5, 5.5, 7.5, 8.5, 9.5]);
    // 3x3: (1+2+3+5+6+7+9+10+11)/9 = 6 and (2+3+4+6+7+8+10+11+12)/9 = 7.
    let s = moving_average_2d(&m, 3, 3).unwrap();
    assert_eq!((s.rows, s.cols, s.values.clone()), (1, 2, vec![6.0, 7.0]));
    // 1x1 is the matrix itself; 1x4 averages each row.
    assert_eq!(moving_average_2d(&m, 1, 1).unwrap(), m);
    assert_eq!(moving_average_2d(&m, 1, 4).unwrap().values, vec![2.5, 6.5, 10.5]);
    for (r, c) in [(0, 1), (4, 1), (1, 5)] {
        let e = moving_average_2d(&m, r, c).unwrap_err().to_string();
        assert!(e.contains("does not fit a 3x4 matrix"), "{e}");
    }
    assert!(Matrix::new(2, 2, vec![1.0]).is_err());
}

#[test]
fn histogram_counts_and_moments_by_hand() {
    let h = histogram(&[0.0, 0.5, 1.0, 1.5, 2.0], 4, None).unwrap();
    assert_eq!(h.edges, vec![0.0, 0.5, 1.0, 1.5, 2.0]);
    assert_eq!(h.counts, vec![1.0, 1.0, 1.0, 2.0]); // the maximum falls in the last bin
    assert_eq!((h.n, h.mean), (5, 1.0));
    assert!(close(h.std, 0.5f64.sqrt(), 1e-12));
    // Two points +-1: variance 1, fourth moment 1, excess kurtosis 1 - 3 = -2.
    let h = histogram(&[-1.0, 1.0], 2, Some((-2.0, 2.0))).unwrap();
    assert_eq!((h.counts.clone(), h.excess_kurtosis), (vec![1.0, 1.0], -2.0));
    // Out-of-range values are not counted.
    assert_eq!(
        histogram(&[-5.0, 0.1, 5.0], 1, Some((0.0, 1.0))).unwrap().counts,
        vec![1.0]
    );
    assert!(histogram(&[], 3, None).is_err());
    assert!(histogram(&[1.0, f64::NAN], 3, None).is_err());
    assert!(histogram(&[1.0], 0, None).is_err());
    // Gaussian tails vs Python's math.erfc(k / sqrt(2)).
    for (k, want) in [
        (5.0, 5.733031437583892e-07),
        (2.0, 0.04550026389635844),
        (0.5, 0.6170750774519738),
    ] {
        let got = gaussian_two_tail(k);
        assert!(((got - want) / want).abs() < 2e-7, "k = {k}: {got} vs {want}");
    }
    assert_eq!(count_beyond_sigmas(&[0.0, 0.0, 0.0, 0.0, 10.0], 1.5), 1);
    assert_eq!(count_beyond_sigmas(&[0.0, 0.0, 0.0, 0.0, 10.0], 2.5), 0);
}

#[test]
fn previous_token_score_by_hand() {
    // Position 1 puts 0.75 on position 0, position 2 puts 0.5 on position 1: mean 0.625.
    let p = Matrix::new(3, 3, vec![1.0, 0.0, 0.0, 0.75, 0.25, 0.0, 0.25, 0.5, 0.25]).unwrap();
    assert_eq!(previous_token_score(&p), Some(0.625));
    assert_eq!(previous_token_score(&Matrix::new(1, 1, vec![1.0]).unwrap()), None);
}

// ---------------------------------------------------------------- models

/// The small synthetic GPT-2 (V=50257, P=128, C=64, L=2, H=4) with the GPT-2 tokenizer.
fn synthetic_small() -> (tempfile::TempDir, LoadedModel) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Gpt2Config::preset(50257, 128, 64, 2, 4);
    synthetic::write_model_folder(&dir.path().join("m"), &cfg, 7, Layout::Hub, &tokenizer_dir()).unwrap();
    let lm = LoadedModel::load(dir.path().join("m").to_str().unwrap(), true).unwrap();
    (dir, lm)
}

const HELLO_BYE: &str =
    "hello hello hello hello hello hello hello hello hello hello bye bye bye bye bye bye bye bye bye bye";

#[test]
fn the_hello_bye_prompt_is_the_essays_gpt2_tokens() {
    let (_d, lm) = synthetic_small();
    let mut want = vec![31373u32];
    want.extend([23748; 9]);
    want.extend([33847; 10]);
    assert_eq!(lm.encode_prompt(HELLO_BYE).unwrap(), want);
    for id in ["embedding-module", "attention-block1-heads", "attention-head1-blocks"] {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("data/figures/{id}.json")))
                .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["prompt"], HELLO_BYE, "data/figures/{id}.json");
    }
}

#[test]
fn attention_rows_sum_to_one_and_never_look_ahead() {
    let (_d, lm) = synthetic_small();
    let s = smollm2();
    for lm in [&lm, &s] {
        let ids = lm.encode_prompt("The cat sat on the mat because it was warm").unwrap();
        let info = lm.model.info();
        let blocks = attention::patterns(&lm.model, &ids, &(0..info.n_layer).collect::<Vec<_>>()).unwrap();
        assert_eq!(blocks.len(), info.n_layer);
        for block in &blocks {
            assert_eq!(block.len(), info.n_head);
            for p in block {
                for q in 0..p.rows {
                    let sum: f64 = (0..p.cols).map(|k| p.at(q, k)).sum();
                    assert!(close(sum, 1.0, 1e-5), "row {q} sums to {sum}");
                    for k in q + 1..p.cols {
                        assert_eq!(p.at(q, k), 0.0, "query {q} looks ahead at key {k}");
                    }
                }
            }
        }
        let ranked = attention::previous_token_heads(&lm.model, &ids).unwrap();
        assert_eq!(ranked.len(), info.n_layer * info.n_head);
        assert!(ranked.windows(2).all(|w| w[0].score >= w[1].score));
    }
    let e = attention::block_patterns(&lm.model, &[1, 2], 2).unwrap_err();
    assert!(matches!(e, Error::BadBlock { block: 2, n_blocks: 2 }), "{e}");
    let e = attention::head_across_blocks(&lm.model, &[1, 2], 4)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("head 4 does not exist") && e.contains("4 heads") && e.contains("0..4"),
        "{e}"
    );
}

#[test]
fn embedding_module_arrays_are_rows_of_w_e_and_w_pos() {
    let (_d, lm) = synthetic_small();
    let ids = lm.encode_prompt(HELLO_BYE).unwrap();
    let em = embedding_module(&lm.model, &ids).unwrap();
    let c = lm.model.info().d_model;
    let pos = em.position.as_ref().expect("GPT-2 has position embeddings");
    for (t, &id) in ids.iter().enumerate() {
        for e in [0, 1, c / 2, c - 1] {
            let we = lm.model.w_e().double_value(&[id as i64, e as i64]);
            let wp = lm.model.w_pos().unwrap().double_value(&[t as i64, e as i64]);
            assert_eq!(em.token.at(e, t), we);
            assert_eq!(pos.at(e, t), wp);
            assert!(close(em.sum.at(e, t), we + wp, 1e-12));
        }
    }
    // The sum is what enters block 0.
    let mut cache = ActivationCache::new(HookFilter::Only(vec![HookPoint::ResidPre(0)]));
    let _ = lm.model.run_with_cache(&ids, &mut cache).unwrap();
    let resid = cache.resid_pre(0).unwrap().get(0).tr(); // (C, T)
    let got = Matrix::from_tensor(&resid).unwrap();
    assert!(got.values.iter().zip(&em.sum.values).all(|(a, b)| close(*a, *b, 1e-5)));
    // A RoPE model has none, and says so.
    let s = smollm2();
    let em = embedding_module(&s.model, &s.encode_prompt("hello bye").unwrap()).unwrap();
    assert!(em.position.is_none());
    assert_eq!(em.sum, em.token);
}

#[test]
fn word_vectors_single_first_mean_and_refusal() {
    let (_d, lm) = synthetic_small();
    let v = text_vector(&lm, " hello", MultiToken::Refuse).unwrap();
    assert_eq!(v.ids, vec![23748]);
    assert_eq!(v.vector[3], lm.model.w_e().double_value(&[23748, 3]));
    // " alligator" is several GPT-2 tokens.
    let e = text_vector(&lm, " alligator", MultiToken::Refuse)
        .unwrap_err()
        .to_string();
    assert!(e.contains("tokens") && e.contains("MultiToken::First"), "{e}");
    let first = text_vector(&lm, " alligator", MultiToken::First).unwrap();
    let mean = text_vector(&lm, " alligator", MultiToken::Mean).unwrap();
    assert!(first.ids.len() > 1);
    assert_eq!(first.vector[5], lm.model.w_e().double_value(&[first.ids[0] as i64, 5]));
    let want: f64 = first
        .ids
        .iter()
        .map(|&i| lm.model.w_e().double_value(&[i as i64, 5]))
        .sum::<f64>()
        / first.ids.len() as f64;
    assert!(close(mean.vector[5], want, 1e-12));
}

// ---------------------------------------------------------------- logit lens vs transformers

fn lens_case(name: &str, model: &LanguageModel, r: &Reference) {
    let n_layer = model.info().n_layer;
    for p in 0..r.n_prompts() {
        let Some(want) = r.t(&format!("p{p}.logits")) else {
            continue;
        };
        let ids = r.prompt_ids(p);
        let mut cache = ActivationCache::new(HookFilter::Only(vec![HookPoint::ResidPost(n_layer - 1)]));
        let _ = model.run_with_cache(&ids, &mut cache).unwrap();
        let resid = cache.resid_post(n_layer - 1).unwrap().get(0); // (T, C)
        let got = lens_logits(model, &resid).get(-1); // (V)
        assert_close(
            &format!("{name} p{p}: lens after the last block vs transformers' logits"),
            &got,
            want,
            parity_support::TOL,
        );
        // Through the HF reference residual stream too, where the fixture has it.
        if let Some(hf_resid) = r.t(&format!("p{p}.resid_post.{}", n_layer - 1)) {
            let got = lens_logits(model, hf_resid).get(-1);
            assert_close(
                &format!("{name} p{p}: lens of transformers' last residual"),
                &got,
                want,
                1e-3,
            );
        }
    }
}

#[test]
fn logit_lens_after_the_last_block_equals_the_models_logits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let gpt2 = Gpt2::load(&root.join("parity/tiny-hf"), Device::Cpu).unwrap();
    lens_case("tiny-hf (GPT-2)", &gpt2, &Reference::load(&root.join("parity/tiny-hf")));
    for case in ["tiny-random", "tiny-random-untied"] {
        let llama = Llama::load(&root.join("llama").join(case), Device::Cpu).unwrap();
        lens_case(case, &llama, &Reference::load(&root.join("llama").join(case)));
    }
}

/// Every row of the lens (embeddings, then after each block) against transformers' own
/// final norm and lm_head applied to its hidden states (scripts/parity/make_lens_fixtures.py).
fn lens_rows_case(fixture: &str, model: &LanguageModel, tok: &gpt2_explorer::Tokenizer) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lens")
        .join(fixture);
    let refs = gpt2_explorer::model::checkpoint::Checkpoint::read(&path)
        .unwrap()
        .tensors;
    let n_layer = model.info().n_layer;
    let mut prompts = 0;
    for (name, want) in refs.iter().filter(|(k, _)| k.ends_with(".lens")) {
        let p = name.trim_end_matches(".lens");
        let ids: Vec<u32> = Vec::<f32>::try_from(&refs[&format!("{p}.ids")])
            .unwrap()
            .iter()
            .map(|&i| i as u32)
            .collect();
        assert_eq!(want.size()[0] as usize, n_layer + 1);
        let mut hooks = vec![HookPoint::ResidPre(0)];
        hooks.extend((0..n_layer).map(HookPoint::ResidPost));
        let mut cache = ActivationCache::new(HookFilter::Only(hooks.clone()));
        let _ = model.run_with_cache(&ids, &mut cache).unwrap();
        for (row, hook) in hooks.iter().enumerate() {
            let got = lens_logits(model, &cache.get(*hook).unwrap().get(0)); // (T, V)
            assert_close(
                &format!("{fixture} {p} lens row {row}"),
                &got,
                &want.get(row as i64),
                parity_support::TOL,
            );
        }
        // The analysis function's top guesses are the reference's argmax.
        let lens = logit_lens(model, tok, &ids).unwrap();
        let top = want.argmax(-1, false); // (L+1, T)
        for (row, cells) in lens.cells.iter().enumerate() {
            for (t, cell) in cells.iter().enumerate() {
                assert_eq!(
                    cell.id as i64,
                    top.int64_value(&[row as i64, t as i64]),
                    "{fixture} {p} row {row} position {t}"
                );
            }
        }
        prompts += 1;
    }
    assert!(prompts >= 2, "{fixture}: expected references for at least 2 prompts");
}

#[test]
fn every_logit_lens_row_matches_transformers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    // The tiny checkpoints have 512-token vocabularies: any tokenizer serves for labels.
    let tok = gpt2_explorer::Tokenizer::from_dir(&tokenizer_dir()).unwrap();
    let gpt2 = Gpt2::load(&root.join("parity/tiny-hf"), Device::Cpu).unwrap();
    lens_rows_case("tiny-hf.safetensors", &gpt2, &tok);
    let llama = Llama::load(&root.join("llama/tiny-random"), Device::Cpu).unwrap();
    lens_rows_case("llama-tiny-random.safetensors", &llama, &tok);
}

#[test]
fn logit_lens_rows_and_its_last_row_is_the_models_top_token() {
    let (_d, lm) = synthetic_small();
    let ids = lm.encode_prompt("The Eiffel Tower is in the city of").unwrap();
    let lens = logit_lens(&lm.model, &lm.tokenizer, &ids).unwrap();
    assert_eq!(lens.rows, vec!["embed", "block 0", "block 1"]);
    let logits = lm.model.logits(&ids).unwrap(); // (T, V)
    let top = logits.argmax(-1, false);
    let probs = logits.softmax(-1, Kind::Double);
    for (t, cell) in lens.cells.last().unwrap().iter().enumerate() {
        assert_eq!(cell.id as i64, top.int64_value(&[t as i64]));
        assert!(close(cell.prob, probs.double_value(&[t as i64, cell.id as i64]), 1e-5));
    }
}

// ---------------------------------------------------------------- figures and their CSVs

fn col(fig: &Figure, name: &str) -> usize {
    fig.table
        .headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", fig.table.headers))
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

/// Builds every section-6 figure on `lm`, renders it, and checks each CSV against the
/// weights or a capture read here directly.
fn check_figures(lm: &LoadedModel, gpt2: bool) {
    let info = lm.model.info();
    let c = info.d_model;
    for id in IDS {
        let fig = figures::make(id, json!({}), Some(lm)).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(&fig.png().unwrap_or_else(|e| panic!("{id}: {e}"))[1..4], b"PNG", "{id}");
        assert!(!fig.table.rows.is_empty(), "{id}: empty CSV");
        // The CSV file reads back as exactly the table (quoting of commas and newlines).
        let bytes = fig.table.to_csv().unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            fig.table.headers,
            "{id}"
        );
        let records: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        assert!(
            records == fig.table.rows,
            "{id}: the CSV does not read back as its table"
        );
    }
    // The diagrams are read from the model's configuration: checked here against the
    // shapes of its weights (W_E, W_pos, the attention projection, the MLP).
    let fig = figures::make("embedding-module-diagram", json!({}), Some(lm)).unwrap();
    let we = lm.model.w_e().size();
    assert_eq!(fig.table.rows[0][1..3], [we[0].to_string(), we[1].to_string()]);
    match lm.model.w_pos() {
        Ok(wp) => assert_eq!(
            fig.table.rows[1][1..3],
            [wp.size()[0].to_string(), wp.size()[1].to_string()]
        ),
        Err(_) => assert_eq!(fig.table.rows[1][0], "RoPE"),
    }
    let fig = figures::make("attention-block-diagram", json!({}), Some(lm)).unwrap();
    let proj = lm.model.attn_proj(0).unwrap().size(); // (H D, C)
    assert_eq!(
        fig.table.rows[1][2],
        (proj[0] * proj[1]).to_string(),
        "attention output projection"
    );
    assert_eq!(fig.table.rows[1][1], format!("{} x {}", proj[0], proj[1]));
    assert_eq!(fig.table.rows[3][1], info.n_layer.to_string());
    assert_eq!(proj[0] as usize, info.n_head * info.d_head);

    let ids = lm.encode_prompt(HELLO_BYE).unwrap();

    // embedding-module: token rows are W_E rows; position rows only where W_pos exists.
    let fig = figures::make("embedding-module", json!({}), Some(lm)).unwrap();
    let arrays: Vec<&str> = fig.table.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(arrays.iter().filter(|a| **a == "token").count(), c);
    assert_eq!(
        arrays.iter().filter(|a| **a == "position").count(),
        if gpt2 { c } else { 0 }
    );
    assert_eq!(arrays.iter().filter(|a| **a == "sum").count(), if gpt2 { c } else { 0 });
    assert_eq!(fig.table.headers.len(), 2 + ids.len());
    for row in fig.table.rows.iter().filter(|r| r[0] == "token" || r[0] == "position") {
        let e: i64 = row[1].parse().unwrap();
        for (t, &id) in ids.iter().enumerate() {
            let want = if row[0] == "token" {
                lm.model.w_e().double_value(&[id as i64, e])
            } else {
                lm.model.w_pos().unwrap().double_value(&[t as i64, e])
            };
            assert!(
                close(num(&row[2 + t]), want, 1e-6),
                "embedding-module {} element {e} position {t}",
                row[0]
            );
        }
    }

    // Attention figures: the captured pattern, read directly.
    let mut cache = ActivationCache::new(HookFilter::Only(
        (0..info.n_layer).map(HookPoint::AttnPattern).collect(),
    ));
    let _ = lm.model.run_with_cache(&ids, &mut cache).unwrap();
    for (id, what, fixed) in [
        ("attention-block1-heads", "head", 0usize),
        ("attention-head1-blocks", "block", 0usize),
    ] {
        let fig = figures::make(id, json!({}), Some(lm)).unwrap();
        let n = if what == "head" { info.n_head } else { info.n_layer };
        assert_eq!(fig.table.rows.len(), n * ids.len() * ids.len(), "{id}");
        let (wc, qc, kc, vc) = (
            col(&fig, what),
            col(&fig, "query_pos"),
            col(&fig, "key_pos"),
            col(&fig, "weight"),
        );
        for row in fig.table.rows.iter().step_by(7) {
            let (i, q, k): (i64, i64, i64) = (
                row[wc].parse().unwrap(),
                row[qc].parse().unwrap(),
                row[kc].parse().unwrap(),
            );
            let (layer, head) = if what == "head" {
                (fixed, i)
            } else {
                (i as usize, fixed as i64)
            };
            let want = cache.attn_pattern(layer).unwrap().double_value(&[0, head, q, k]);
            assert!(close(num(&row[vc]), want, 1e-6), "{id} {row:?} vs {want}");
        }
    }

    // attn-proj-matrix: the projection oriented input x output, which the decoder keeps
    // for every family (Llama's o_proj.weight is stored (C, H D) and loaded transposed).
    let stored = lm.model.attn_proj(0).unwrap();
    assert_eq!(
        stored.size(),
        vec![(info.n_head * info.d_head) as i64, c as i64],
        "attn_proj is (H D in, C out)"
    );
    let raw = |i: usize, j: usize| stored.double_value(&[i as i64, j as i64]);
    let fig = figures::make("attn-proj-matrix", json!({}), Some(lm)).unwrap();
    assert_eq!((fig.table.rows.len(), fig.table.headers.len()), (c, c + 1));
    for (i, j) in [(0, 0), (1, c - 1), (c / 2, 3), (c - 1, c - 1)] {
        assert!(
            close(num(&fig.table.rows[i][j + 1]), raw(i, j), 1e-6),
            "attn-proj-matrix ({i}, {j})"
        );
    }

    // Smoothed: a naive window mean of the raw weights.
    let w = 64.min(c / 4);
    let naive = |i0: usize, j0: usize| {
        (i0..i0 + w)
            .flat_map(|i| (j0..j0 + w).map(move |j| (i, j)))
            .map(|(i, j)| raw(i, j))
            .sum::<f64>()
            / (w * w) as f64
    };
    let fig = figures::make("attn-proj-matrix-smoothed", json!({}), Some(lm)).unwrap();
    assert_eq!(fig.table.rows.len(), c - w + 1);
    for (i, j) in [(0, 0), (3, c - w), (c - w, 1)] {
        assert!(
            close(num(&fig.table.rows[i][j + 1]), naive(i, j), 1e-5),
            "smoothed ({i}, {j})"
        );
    }
    let fig = figures::make("attn-proj-matrices-all", json!({}), Some(lm)).unwrap();
    let (bc, rc, cc, vc) = (
        col(&fig, "block"),
        col(&fig, "window_row_start"),
        col(&fig, "window_col_start"),
        col(&fig, "mean_weight"),
    );
    let blocks: std::collections::BTreeSet<&str> = fig.table.rows.iter().map(|r| r[bc].as_str()).collect();
    assert_eq!(blocks.len(), info.n_layer);
    for row in fig.table.rows.iter().filter(|r| r[bc] == "0").step_by(11) {
        let (i, j): (usize, usize) = (row[rc].parse().unwrap(), row[cc].parse().unwrap());
        assert!(
            close(num(&row[vc]), naive(i, j), 1e-5),
            "matrices-all block 0 at ({i}, {j})"
        );
    }

    // weight-histograms: every weight of every block is counted (nothing beyond 5 sd is
    // dropped), on bins shared by all blocks; the count beyond 5 sd is recounted here
    // from the raw block-0 weights, against a Gaussian's n * erfc(5 / sqrt 2) (Python
    // math.erfc: 5.733031437583892e-07).
    let fig = figures::make("weight-histograms", json!({}), Some(lm)).unwrap();
    let (bc, cc, nc, lc) = (
        col(&fig, "block"),
        col(&fig, "count"),
        col(&fig, "n"),
        col(&fig, "bin_low"),
    );
    let first_edges: Vec<String> = fig
        .table
        .rows
        .iter()
        .filter(|r| r[bc] == "0")
        .map(|r| r[lc].clone())
        .collect();
    for l in 0..info.n_layer {
        let rows: Vec<_> = fig.table.rows.iter().filter(|r| r[bc] == l.to_string()).collect();
        assert_eq!(rows.len(), 120);
        let total: f64 = rows.iter().map(|r| num(&r[cc])).sum();
        assert_eq!(num(&rows[0][nc]) as usize, c * c);
        assert_eq!(total as usize, c * c, "block {l}: every weight is counted");
        let edges: Vec<String> = rows.iter().map(|r| r[lc].clone()).collect();
        assert_eq!(edges, first_edges, "block {l}: one x range for every block");
    }
    let w0: Vec<f64> = (0..c)
        .flat_map(|i| (0..c).map(move |j| (i, j)))
        .map(|(i, j)| raw(i, j))
        .collect();
    let mean = w0.iter().sum::<f64>() / w0.len() as f64;
    let sd = (w0.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / w0.len() as f64).sqrt();
    let beyond = w0.iter().filter(|v| (*v - mean).abs() > 5.0 * sd).count();
    let row0 = fig.table.rows.iter().find(|r| r[bc] == "0").unwrap();
    assert_eq!(num(&row0[col(&fig, "count_beyond")]) as usize, beyond);
    let expected = num(&row0[col(&fig, "gaussian_expected_beyond")]);
    assert!(
        close(expected, (c * c) as f64 * 5.733031437583892e-07, 1e-6),
        "{expected}"
    );

    // logit-lens: the last row is the model's own top token at every position.
    let fig = figures::make("logit-lens", json!({"prompt": "The cat sat on the"}), Some(lm)).unwrap();
    let lids = lm.encode_prompt("The cat sat on the").unwrap();
    let top = lm.model.logits(&lids).unwrap().argmax(-1, false);
    let last = format!("block {}", info.n_layer - 1);
    let rows: Vec<_> = fig.table.rows.iter().filter(|r| r[0] == last).collect();
    assert_eq!(rows.len(), lids.len());
    for (t, r) in rows.iter().enumerate() {
        assert_eq!(
            num(&r[col(&fig, "top_id")]) as i64,
            top.int64_value(&[t as i64]),
            "logit-lens position {t}"
        );
    }
    assert_eq!(fig.table.rows.len(), (info.n_layer + 1) * lids.len());
}

#[test]
fn every_section6_figure_builds_on_a_synthetic_gpt2_and_its_csv_matches() {
    let (_d, lm) = synthetic_small();
    check_figures(&lm, true);
}

#[test]
fn every_section6_figure_builds_on_smollm2_and_its_csv_matches() {
    let lm = smollm2();
    check_figures(&lm, false);
    // The RoPE model's embedding figure says there are no position embeddings.
    let svg = figures::make("embedding-module", json!({}), Some(&lm))
        .unwrap()
        .svg()
        .unwrap();
    assert!(
        svg.contains("No position embeddings:") && svg.contains("nothing added"),
        "the figure should say so"
    );
    // What it shows instead: cos(t θ_i) with θ_i = base^(-2i/D), and block 0's head-0
    // queries rotated pair (i, i + D/2) by pair, checked here by hand against the
    // captured queries: position 0 is unrotated, and every pair keeps its length.
    let fig = figures::make("embedding-module", json!({}), Some(&lm)).unwrap();
    let info = lm.model.info();
    let base = match info.positions {
        gpt2_explorer::model::config::Positions::Rotary { theta } => theta,
        _ => panic!("SmolLM2 has rotary positions"),
    };
    let d = info.d_head;
    let rows = |name: &str| -> Vec<Vec<f64>> {
        fig.table
            .rows
            .iter()
            .filter(|r| r[0] == name)
            .map(|r| r[2..].iter().map(|v| v.parse().unwrap()).collect())
            .collect()
    };
    let (cos, q, rot) = (
        rows("rope_cos"),
        rows("block0_head0_query"),
        rows("block0_head0_query_rotated"),
    );
    assert_eq!((cos.len(), q.len(), rot.len()), (d / 2, d, d));
    assert!(rows("sum").is_empty(), "no sum that only repeats the token embeddings");
    let ids = lm.encode_prompt(HELLO_BYE).unwrap();
    let mut cache = ActivationCache::new(HookFilter::Only(vec![HookPoint::AttnQ(0)]));
    let _logits = lm.model.run_with_cache(&ids, &mut cache).unwrap();
    let captured = cache.get(HookPoint::AttnQ(0)).unwrap().get(0); // (T, H, D)
    for t in 0..ids.len() {
        for i in 0..d / 2 {
            let angle = t as f64 * base.powf(-2.0 * i as f64 / d as f64);
            assert!((cos[i][t] - angle.cos()).abs() < 1e-5, "cos({i}, {t})");
            let (a, b) = (q[i][t], q[i + d / 2][t]);
            assert!(
                close(a, captured.double_value(&[t as i64, 0, i as i64]), 1e-5),
                "q({i}, {t})"
            );
            let (ra, rb) = (rot[i][t], rot[i + d / 2][t]);
            assert!(close(ra, a * angle.cos() - b * angle.sin(), 1e-5), "rotated({i}, {t})");
            assert!(
                close(ra.hypot(rb), a.hypot(b), 1e-5),
                "pair {i} at {t} keeps its length"
            );
            if t == 0 {
                assert!(close(ra, a, 1e-9) && close(rb, b, 1e-9));
            }
        }
    }
}

#[test]
fn figure_parameters_out_of_range_give_clear_errors() {
    let (_d, lm) = synthetic_small();
    let e = figures::make("attention-block1-heads", json!({"layer": 2}), Some(&lm))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("block 2 does not exist") && e.contains("2 blocks"), "{e}");
    let e = figures::make("attention-head1-blocks", json!({"head": 9}), Some(&lm))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("head 9 does not exist") && e.contains("4 heads"), "{e}");
    let e = figures::make("attn-proj-matrix", json!({"layer": 5}), Some(&lm))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("block 5 does not exist"), "{e}");
    let e = figures::make("logit-lens", json!({"prompt": ""}), Some(&lm))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn side_by_side_names_the_missing_model() {
    let (_d, lm) = synthetic_small();
    let missing = LoadedModel::load("/nonexistent/gpt2-folder", true)
        .err()
        .expect("no such folder");
    let models: Vec<(String, Result<&LoadedModel, &gpt2_explorer::Error>)> =
        vec![("synthetic".into(), Ok(&lm)), ("gpt2".into(), Err(&missing))];
    let fig = chapter6::side_by_side("The cat sat on the", &models, 5).unwrap();
    assert_eq!(fig.table.rows.len(), 5);
    let svg = fig.svg().unwrap();
    assert!(
        svg.contains("gpt2") && svg.contains("missing"),
        "the figure should name the missing model"
    );
}
