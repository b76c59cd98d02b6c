//! The GGUF reader (`src/gguf.rs`) against ggml's own Python reader on the real
//! SmolLM2-135M-Instruct Q4_1 file: header, every metadata key, every tensor dequantised
//! bit for bit (sha256 + samples in tests/fixtures/smollm2/dequant.json), and the tokenizer
//! against transformers (tokenizer-reference.json); both fixtures are written by
//! scripts/parity/make_gguf_fixtures.py. Then bad input: truncated, corrupt and
//! unsupported files, each a clean `Error::Gguf` naming the problem; and each dequantiser
//! on hand-made blocks. Needs `make setup` (the GGUF file in data/cache/smollm2).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use gpt2_explorer::gguf::{dequantize, tokenizer_from_gguf, GgmlType, GgufFile, MetaType, MetaValue};
use gpt2_explorer::{Error, Tokenizer};
use serde_json::Value;
use sha2::{Digest, Sha256};

const GGUF_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

fn gguf_path() -> PathBuf {
    let path = gpt2_explorer::data_cache_dir().join("smollm2").join(GGUF_NAME);
    assert!(
        path.is_file(),
        "the SmolLM2 GGUF file {} is missing: run `make setup` first",
        path.display()
    );
    path
}

fn real() -> &'static GgufFile {
    static FILE: OnceLock<GgufFile> = OnceLock::new();
    FILE.get_or_init(|| GgufFile::open(gguf_path()).expect("the real GGUF file opens"))
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/smollm2")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn hex_sha256_f32(values: &[f32]) -> String {
    let mut h = Sha256::new();
    let mut buf = Vec::with_capacity(4 << 16);
    for chunk in values.chunks(1 << 16) {
        buf.clear();
        chunk.iter().for_each(|v| buf.extend_from_slice(&v.to_le_bytes()));
        h.update(&buf);
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The message of an `Error::Gguf`; anything else fails the test.
fn gguf_msg<T: std::fmt::Debug>(r: gpt2_explorer::Result<T>) -> String {
    match r {
        Err(Error::Gguf { msg, .. }) => msg,
        other => panic!("expected Error::Gguf, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// The real file against PyPI gguf
// ---------------------------------------------------------------------------------------

#[test]
fn header_matches_the_reference() {
    let fx = fixture("dequant.json");
    let g = real();
    assert_eq!(fx["file"], GGUF_NAME);
    assert_eq!(g.version() as u64, fx["gguf_version"].as_u64().unwrap());
    assert_eq!(g.tensors().len() as u64, fx["tensor_count"].as_u64().unwrap());
    assert_eq!(g.metadata().len() as u64, fx["kv_count"].as_u64().unwrap());
    assert_eq!(g.alignment(), fx["alignment"].as_u64().unwrap());
    assert_eq!(g.data_offset(), fx["data_offset"].as_u64().unwrap());
    assert_eq!(g.file_size(), fx["file_size"].as_u64().unwrap());
    let bytes = std::fs::read(gguf_path()).unwrap();
    assert_eq!(
        hex(&Sha256::digest(&bytes)),
        fx["sha256"].as_str().unwrap(),
        "the GGUF file differs from the one the fixture was made from"
    );
}

#[test]
fn every_metadata_key_matches_the_reference() {
    let fx = fixture("dequant.json");
    let want = fx["metadata"].as_object().unwrap();
    let g = real();
    let got_keys: Vec<&str> = g.metadata().iter().map(|(k, _)| k.as_str()).collect();
    let want_keys: Vec<&str> = want.keys().map(String::as_str).collect();
    assert_eq!(got_keys, want_keys, "metadata keys (in file order)");
    for (key, w) in want {
        let v = g.get(key).unwrap();
        let wt = w["type"].as_str().unwrap();
        assert_eq!(v.ty().name(), wt, "{key}: type");
        match v {
            MetaValue::Array(elem, items) => {
                assert_eq!(elem.name(), w["elem_type"].as_str().unwrap(), "{key}: element type");
                assert_eq!(items.len() as u64, w["len"].as_u64().unwrap(), "{key}: length");
                for (i, (item, wv)) in items.iter().zip(w["first"].as_array().unwrap()).enumerate() {
                    assert_scalar(&format!("{key}[{i}]"), item, wv, None);
                }
                if let Some(counts) = w.get("counts") {
                    let types = g.get_int_array(key).unwrap();
                    for (ty, n) in counts.as_object().unwrap() {
                        let ty: i64 = ty.parse().unwrap();
                        assert_eq!(
                            types.iter().filter(|&&t| t == ty).count() as u64,
                            n.as_u64().unwrap(),
                            "{key}: count of type {ty}"
                        );
                    }
                }
            }
            _ => assert_scalar(key, v, &w["value"], w.get("bits").and_then(Value::as_str)),
        }
    }
}

fn assert_scalar(what: &str, v: &MetaValue, want: &Value, bits: Option<&str>) {
    match v {
        MetaValue::Str(s) => assert_eq!(s, want.as_str().unwrap(), "{what}"),
        MetaValue::Bool(b) => assert_eq!(*b, want.as_bool().unwrap(), "{what}"),
        MetaValue::F32(x) => {
            if let Some(bits) = bits {
                assert_eq!(format!("{:08x}", x.to_bits()), bits, "{what}: f32 bits");
            }
            assert_eq!(*x as f64, want.as_f64().unwrap(), "{what}");
        }
        MetaValue::F64(x) => {
            if let Some(bits) = bits {
                assert_eq!(format!("{:016x}", x.to_bits()), bits, "{what}: f64 bits");
            }
        }
        MetaValue::Array(..) => panic!("{what}: nested array not expected"),
        int => assert_eq!(
            int.as_int().unwrap(),
            want.as_i64().map(i128::from).or(want.as_u64().map(i128::from)).unwrap(),
            "{what}"
        ),
    }
}

#[test]
fn typed_getters_give_the_model_hyper_parameters() {
    let g = real();
    assert_eq!(g.architecture().unwrap(), "llama");
    assert_eq!(g.get_u32("llama.block_count").unwrap(), 30);
    assert_eq!(g.get_u32("llama.context_length").unwrap(), 8192);
    assert_eq!(g.get_u32("llama.embedding_length").unwrap(), 576);
    assert_eq!(g.get_u32("llama.feed_forward_length").unwrap(), 1536);
    assert_eq!(g.get_u32("llama.attention.head_count").unwrap(), 9);
    assert_eq!(g.get_u32("llama.attention.head_count_kv").unwrap(), 3);
    assert_eq!(g.get_u32("llama.rope.dimension_count").unwrap(), 64);
    assert_eq!(g.get_u32("llama.vocab_size").unwrap(), 49152);
    assert_eq!(g.get_f32("llama.rope.freq_base").unwrap(), 100000.0);
    assert_eq!(g.get_f32("llama.attention.layer_norm_rms_epsilon").unwrap(), 1e-5f32);
    assert_eq!(g.get_str("tokenizer.ggml.model").unwrap(), "gpt2");
    assert_eq!(g.get_str("tokenizer.ggml.pre").unwrap(), "smollm");
    assert_eq!(g.get_u32("tokenizer.ggml.bos_token_id").unwrap(), 1);
    assert_eq!(g.get_u32("tokenizer.ggml.eos_token_id").unwrap(), 2);
    assert!(!g.get_bool("tokenizer.ggml.add_bos_token").unwrap());
    let tokens = g.get_str_array("tokenizer.ggml.tokens").unwrap();
    assert_eq!(tokens.len(), 49152);
    assert_eq!(&tokens[..3], ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
    assert_eq!(g.get_str_array("tokenizer.ggml.merges").unwrap().len(), 48900);
    assert_eq!(g.get_str_array("general.languages").unwrap(), ["en"]);
    // the output projection is tied to the embedding: no output.weight in the file
    assert!(!g.has_tensor("output.weight"));
    let embd = g.tensor_info("token_embd.weight").unwrap();
    assert_eq!(
        (embd.ggml_type, embd.ne.as_slice(), embd.shape()),
        (GgmlType::Q8_0, &[576u64, 49152][..], vec![49152, 576])
    );
}

#[test]
fn every_tensor_dequantises_bit_for_bit_like_ggml() {
    let fx = fixture("dequant.json");
    let g = real();
    let want = fx["tensors"].as_array().unwrap();
    assert_eq!(
        g.tensor_names(),
        want.iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>(),
        "tensor names (in file order)"
    );
    let start = Instant::now();
    let mut n_values = 0usize;
    let mut hashed = std::time::Duration::ZERO;
    for w in want {
        let name = w["name"].as_str().unwrap();
        let info = g.tensor_info(name).unwrap();
        assert_eq!(info.ggml_type.to_string(), w["type"].as_str().unwrap(), "{name}: type");
        let ne: Vec<u64> = w["ne"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect();
        let shape: Vec<usize> = w["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(info.ne, ne, "{name}: ne");
        assert_eq!(info.offset, w["offset"].as_u64().unwrap(), "{name}: offset");
        assert_eq!(info.n_bytes, w["n_bytes"].as_u64().unwrap(), "{name}: n_bytes");
        let (values, got_shape) = g.tensor_f32(name).unwrap();
        assert_eq!(got_shape, shape, "{name}: row-major shape");
        assert_eq!(values.len(), shape.iter().product::<usize>(), "{name}: element count");
        n_values += values.len();
        for s in w["samples"].as_array().unwrap() {
            let (i, bits) = (s[0].as_u64().unwrap() as usize, s[1].as_str().unwrap());
            assert_eq!(format!("{:08x}", values[i].to_bits()), bits, "{name}: element {i}");
        }
        let t = Instant::now();
        assert_eq!(
            hex_sha256_f32(&values),
            w["sha256"].as_str().unwrap(),
            "{name}: sha256 of the dequantised f32 values"
        );
        hashed += t.elapsed();
    }
    let total = start.elapsed();
    eprintln!(
        "dequantised {n_values} values in {:.2?} (plus {:.2?} hashing)",
        total - hashed,
        hashed
    );
    assert_eq!(n_values, 134_515_008);
}

#[test]
fn tokenizer_matches_transformers() {
    let fx = fixture("tokenizer-reference.json");
    let tok = tokenizer_from_gguf(real()).unwrap();
    assert_eq!(tok.get_vocab_size(true) as u64, fx["vocab_size"].as_u64().unwrap());
    for case in fx["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let ids = |k: &str| {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect::<Vec<u32>>()
        };
        let (hf_json, transformers) = (ids("digits_bytelevel_ids"), ids("transformers_gguf_ids"));
        let got = tok.encode(text, false).unwrap().get_ids().to_vec();
        assert_eq!(got, hf_json, "ids of {text:?}");
        if case["label"] == "numeric-non-ascii" {
            // transformers 5.24's GGUF loader drops SmolLM2's Digits pre-tokenizer: " ²" differs
            assert_ne!(
                got, transformers,
                "{text:?}: transformers' GGUF tokenizer was expected to differ here"
            );
        } else {
            assert_eq!(got, transformers, "ids of {text:?} (transformers' GGUF tokenizer)");
        }
        let toks: Vec<String> = got.iter().map(|&i| tok.id_to_token(i).unwrap()).collect();
        let want_toks: Vec<String> = case["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        assert_eq!(toks, want_toks, "tokens of {text:?}");
        assert_eq!(tok.decode(&got, false).unwrap(), text, "decode round trip");
        assert_eq!(case["decoded"].as_str().unwrap(), text);
    }
    // control tokens are whole special tokens; no BOS is added
    assert_eq!(
        tok.encode("<|im_start|>assistant", false).unwrap().get_ids(),
        [1, 520, 9531]
    );
    assert_eq!(
        tok.encode("hi", true).unwrap().get_ids(),
        tok.encode("hi", false).unwrap().get_ids()
    );
    // the project's wrapper works on it too
    let wrapped = Tokenizer::from_inner(tok);
    assert_eq!(
        wrapped.encode("The best thing about AI is its ability to").unwrap(),
        [504, 1450, 2775, 563, 5646, 314, 624, 2470, 288]
    );
    assert_eq!(wrapped.token_label(1450), "␣best");
    assert_eq!(wrapped.vocab_size(), 49152);
}

// ---------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not in the file", String::from_utf8_lossy(needle)))
}

fn open_bytes(dir: &Path, name: &str, bytes: &[u8]) -> gpt2_explorer::Result<GgufFile> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    GgufFile::open(&path)
}

#[test]
fn truncated_copies_of_the_real_file_are_clean_errors() {
    let bytes = std::fs::read(gguf_path()).unwrap();
    let g = real();
    let data = g.data_offset() as usize;
    let head = &bytes[..data];
    let tokens_key = find(head, b"tokenizer.ggml.tokens");
    let merges_key = find(head, b"tokenizer.ggml.merges");
    let tensor_name = find(&head[merges_key..], b"blk.10.attn_q.weight") + merges_key;
    let last = format!("the data of tensor {}", g.tensors().last().unwrap().name);
    let cases: Vec<(usize, &str)> = vec![
        (0, "shorter than a GGUF header"),
        (3, "shorter than a GGUF header"),
        (20, "shorter than a GGUF header"),
        (30, "the length of the key of metadata entry 0"),
        (44, "the key of metadata entry 0"),
        (tokens_key + 10, "metadata entry"),
        (
            tokens_key + 21 + 4 + 2,
            "the element type of the value of metadata key `tokenizer.ggml.tokens`",
        ),
        (
            tokens_key + 21 + 8 + 4,
            "the element count of the value of metadata key `tokenizer.ggml.tokens`",
        ),
        (
            tokens_key + 21 + 16 + 1000,
            "the value of metadata key `tokenizer.ggml.tokens`",
        ),
        (
            merges_key + 21 + 16 + 5000,
            "the value of metadata key `tokenizer.ggml.merges`",
        ),
        (tensor_name + 5, "tensor"),
        (
            tensor_name + 20 + 2,
            "the number of dimensions of tensor blk.10.attn_q.weight",
        ),
        (tensor_name + 24 + 3, "dimension 0 of tensor blk.10.attn_q.weight"),
        (tensor_name + 24 + 16 + 2, "the type of tensor blk.10.attn_q.weight"),
        (
            tensor_name + 24 + 16 + 4 + 1,
            "the data offset of tensor blk.10.attn_q.weight",
        ),
        (data + 100, "the data of tensor token_embd.weight"),
        (bytes.len() - 1, &last),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (n, what) in cases {
        let msg = gguf_msg(open_bytes(dir.path(), "cut.gguf", &bytes[..n]));
        assert!(msg.contains("truncated"), "cut at {n}: {msg}");
        assert!(msg.contains(what), "cut at {n}: expected {what:?} in {msg:?}");
    }
    // a corrupt element count is caught before anything is allocated for it
    let mut patched = head.to_vec();
    let count_at = tokens_key + 21 + 4 + 4;
    assert_eq!(
        u64::from_le_bytes(patched[count_at..count_at + 8].try_into().unwrap()),
        49152
    );
    for bad in [u64::MAX, 1 << 40] {
        patched[count_at..count_at + 8].copy_from_slice(&bad.to_le_bytes());
        let msg = gguf_msg(open_bytes(dir.path(), "count.gguf", &patched));
        assert!(
            msg.contains(&format!("says it holds {bad} STRING elements")) && msg.contains("tokenizer.ggml.tokens"),
            "{msg}"
        );
    }
}

/// A tiny GGUF writer for hand-made files.
struct Writer {
    version: u32,
    alignment: usize,
    kv: Vec<u8>,
    n_kv: u64,
    tensors: Vec<(String, Vec<u64>, u32, Vec<u8>)>,
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

impl Writer {
    fn new() -> Self {
        Writer {
            version: 3,
            alignment: 32,
            kv: Vec::new(),
            n_kv: 0,
            tensors: Vec::new(),
        }
    }

    /// A key with a raw type code and payload.
    fn kv(mut self, key: &str, ty: u32, payload: &[u8]) -> Self {
        string(&mut self.kv, key);
        self.kv.extend_from_slice(&ty.to_le_bytes());
        self.kv.extend_from_slice(payload);
        self.n_kv += 1;
        self
    }

    fn kv_str(self, key: &str, s: &str) -> Self {
        let mut p = Vec::new();
        string(&mut p, s);
        self.kv(key, 8, &p)
    }

    fn kv_u32(self, key: &str, v: u32) -> Self {
        self.kv(key, 4, &v.to_le_bytes())
    }

    fn tensor(mut self, name: &str, ne: &[u64], ty: u32, data: Vec<u8>) -> Self {
        self.tensors.push((name.into(), ne.to_vec(), ty, data));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let pad = |v: &mut Vec<u8>| v.resize(v.len().div_ceil(self.alignment) * self.alignment, 0);
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.n_kv.to_le_bytes());
        out.extend_from_slice(&self.kv);
        let mut data = Vec::new();
        for (name, ne, ty, bytes) in &self.tensors {
            string(&mut out, name);
            out.extend_from_slice(&(ne.len() as u32).to_le_bytes());
            ne.iter().for_each(|d| out.extend_from_slice(&d.to_le_bytes()));
            out.extend_from_slice(&ty.to_le_bytes());
            out.extend_from_slice(&(data.len() as u64).to_le_bytes());
            data.extend_from_slice(bytes);
            pad(&mut data);
        }
        pad(&mut out);
        out.extend_from_slice(&data);
        out
    }
}

fn f16(x: f32) -> [u8; 2] {
    half::f16::from_f32(x).to_bits().to_le_bytes()
}

#[test]
fn a_hand_made_file_with_every_metadata_type_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut nested = Vec::new(); // ARRAY of 2 ARRAY: [[1u8, 2u8], []] (empty of INT16)
    nested.extend_from_slice(&9u32.to_le_bytes());
    nested.extend_from_slice(&2u64.to_le_bytes());
    nested.extend_from_slice(&0u32.to_le_bytes());
    nested.extend_from_slice(&2u64.to_le_bytes());
    nested.extend_from_slice(&[1, 2]);
    nested.extend_from_slice(&3u32.to_le_bytes());
    nested.extend_from_slice(&0u64.to_le_bytes());
    let mut strs = Vec::new();
    strs.extend_from_slice(&8u32.to_le_bytes());
    strs.extend_from_slice(&2u64.to_le_bytes());
    string(&mut strs, "a b");
    string(&mut strs, "日本");
    let q8: Vec<u8> = [f16(0.5).to_vec(), (0..32).map(|i| (i as i8 - 16) as u8).collect()].concat();
    for version in [2, 3] {
        let mut w = Writer::new()
            .kv("u8", 0, &[200])
            .kv("i8", 1, &(-5i8).to_le_bytes())
            .kv("u16", 2, &60000u16.to_le_bytes())
            .kv("i16", 3, &(-30000i16).to_le_bytes())
            .kv_u32("u32", 4_000_000_000)
            .kv("i32", 5, &(-7i32).to_le_bytes())
            .kv("u64", 10, &u64::MAX.to_le_bytes())
            .kv("i64", 11, &(-9i64).to_le_bytes())
            .kv("f32", 6, &1.5f32.to_le_bytes())
            .kv("f64", 12, &0.1f64.to_le_bytes())
            .kv("yes", 7, &[1])
            .kv_str("general.architecture", "toy")
            .kv("strs", 9, &strs)
            .kv("nested", 9, &nested)
            .kv_u32("general.alignment", 64)
            .tensor("q8", &[32, 1], 8, q8.clone())
            .tensor(
                "vec",
                &[3],
                0,
                [1f32, -2.0, 3.25].iter().flat_map(|v| v.to_le_bytes()).collect(),
            );
        w.version = version;
        w.alignment = 64;
        let g = open_bytes(dir.path(), "toy.gguf", &w.bytes()).unwrap();
        assert_eq!(g.version(), version);
        assert_eq!(g.alignment(), 64);
        assert_eq!(g.data_offset() % 64, 0);
        assert_eq!(g.get("u8").unwrap(), &MetaValue::U8(200));
        assert_eq!(g.get("i8").unwrap(), &MetaValue::I8(-5));
        assert_eq!(g.get("u16").unwrap(), &MetaValue::U16(60000));
        assert_eq!(g.get("i16").unwrap(), &MetaValue::I16(-30000));
        assert_eq!(g.get("i64").unwrap(), &MetaValue::I64(-9));
        assert_eq!(g.get("u64").unwrap(), &MetaValue::U64(u64::MAX));
        assert_eq!(g.get("f64").unwrap(), &MetaValue::F64(0.1));
        assert_eq!(g.get("yes").unwrap(), &MetaValue::Bool(true));
        assert_eq!(g.get_u32("u8").unwrap(), 200);
        assert_eq!(g.get_u32("u16").unwrap(), 60000);
        assert_eq!(g.get_u32("u32").unwrap(), 4_000_000_000);
        assert_eq!(g.get_f32("f32").unwrap(), 1.5);
        assert_eq!(g.get_f32("f64").unwrap(), 0.1f32);
        assert_eq!(g.architecture().unwrap(), "toy");
        assert_eq!(g.get_str_array("strs").unwrap(), ["a b", "日本"]);
        assert_eq!(
            g.get("nested").unwrap(),
            &MetaValue::Array(
                MetaType::Array,
                vec![
                    MetaValue::Array(MetaType::U8, vec![MetaValue::U8(1), MetaValue::U8(2)]),
                    MetaValue::Array(MetaType::I16, vec![])
                ]
            )
        );
        assert_eq!(g.tensor_names(), ["q8", "vec"]);
        assert_eq!(g.tensor_info("q8").unwrap().offset, 0);
        assert_eq!(g.tensor_info("vec").unwrap().offset, 64);
        let (v, shape) = g.tensor_f32("q8").unwrap();
        assert_eq!(shape, [1, 32]);
        assert_eq!(v, (0..32).map(|i| (i - 16) as f32 * 0.5).collect::<Vec<_>>());
        assert_eq!(g.tensor_f32("vec").unwrap(), (vec![1.0, -2.0, 3.25], vec![3]));

        // getters name the key and what was wrong
        let msg = gguf_msg(g.get_u32("llama.block_count"));
        assert!(msg.contains("`llama.block_count` is missing"), "{msg}");
        let msg = gguf_msg(g.get_u32("general.architecture"));
        assert!(
            msg.contains("`general.architecture` should be an integer, but is STRING \"toy\""),
            "{msg}"
        );
        let msg = gguf_msg(g.get_u32("i8"));
        assert!(
            msg.contains("`i8` should be an integer in 0..=4294967295, but is INT8 -5"),
            "{msg}"
        );
        let msg = gguf_msg(g.get_u32("u64"));
        assert!(
            msg.contains("`u64`") && msg.contains("UINT64 18446744073709551615"),
            "{msg}"
        );
        let msg = gguf_msg(g.get_f32("u32"));
        assert!(
            msg.contains("`u32` should be a FLOAT32 or FLOAT64, but is UINT32 4000000000"),
            "{msg}"
        );
        let msg = gguf_msg(g.get_str("f32"));
        assert!(msg.contains("`f32` should be a STRING"), "{msg}");
        let msg = gguf_msg(g.get_str_array("nested"));
        assert!(
            msg.contains("`nested` should be an ARRAY of STRING, but is ARRAY of 2 ARRAY"),
            "{msg}"
        );
        let msg = gguf_msg(g.tensor_info("output.weight"));
        assert!(msg.contains("tensor `output.weight` is not in the file"), "{msg}");
        let msg = gguf_msg(tokenizer_from_gguf(&g));
        assert!(msg.contains("`tokenizer.ggml.model` is missing"), "{msg}");
    }
}

#[test]
fn an_unsupported_tensor_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let w = Writer::new()
        .tensor("blk.0.attn_q.weight", &[256, 2], 14, vec![0; 2 * 210])
        .tensor("ok", &[2], 1, [f16(1.0), f16(-0.5)].concat());
    let g = open_bytes(dir.path(), "q6k.gguf", &w.bytes()).unwrap();
    let info = g.tensor_info("blk.0.attn_q.weight").unwrap();
    assert_eq!((info.ggml_type, info.n_bytes), (GgmlType::Q6_K, 420));
    let msg = gguf_msg(g.tensor_f32("blk.0.attn_q.weight"));
    assert_eq!(msg, "tensor blk.0.attn_q.weight has type Q6_K, which this reader does not support; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1");
    assert_eq!(g.tensor_f32("ok").unwrap(), (vec![1.0, -0.5], vec![2]));
    let full = Error::Gguf {
        path: "x.gguf".into(),
        msg,
    }
    .to_string();
    assert!(
        full.starts_with("GGUF file x.gguf: tensor blk.0.attn_q.weight has type Q6_K"),
        "{full}"
    );
}

#[test]
fn corrupt_headers_and_tables_are_clean_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = Writer::new()
        .kv_str("general.architecture", "toy")
        .tensor("t", &[4], 0, vec![0; 16]);
    assert!(open_bytes(dir.path(), "good.gguf", &good.bytes()).is_ok());
    let check = |name: &str, bytes: Vec<u8>, want: &str| {
        let msg = gguf_msg(open_bytes(dir.path(), name, &bytes));
        assert!(msg.contains(want), "{name}: expected {want:?} in {msg:?}");
    };
    let mut b = good.bytes();
    b[..4].copy_from_slice(b"GGML");
    check("magic", b, "not a GGUF file: it starts with bytes [47, 47, 4d, 4c]");
    for (v, want) in [
        (1u32, "unsupported GGUF version 1"),
        (4, "unsupported GGUF version 4; this reader reads versions 2 and 3"),
        (3u32.swap_bytes(), "big-endian"),
    ] {
        let mut w = Writer::new().kv_str("general.architecture", "toy");
        w.version = v;
        check("version", w.bytes(), want);
    }
    // absurd counts and lengths
    let mut b = good.bytes();
    b[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    check("tensor count", b, "tensor  appears twice"); // read from the padding: an empty name, twice
    let mut b = Writer::new().kv_u32("k", 1).bytes()[..41].to_vec(); // header + one key, no padding
    b[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    check("tensor count", b, "truncated or corrupt: reading the length of the name of tensor 0 needs 8 bytes at offset 41, but the file ends at 41 bytes");
    let mut b = good.bytes();
    b[16..24].copy_from_slice(&(1u64 << 50).to_le_bytes());
    check("kv count", b, "corrupt");
    let mut b = Writer::new().kv_u32("k", 1).bytes()[..41].to_vec(); // header + one key, no padding
    b[16..24].copy_from_slice(&(1u64 << 50).to_le_bytes());
    check(
        "kv count",
        b,
        "truncated or corrupt: reading the length of the key of metadata entry 1 needs 8 bytes",
    );
    let mut b = good.bytes();
    b[24..32].copy_from_slice(&(u64::MAX - 3).to_le_bytes());
    check(
        "key length",
        b,
        "the key of metadata entry 0 says it is 18446744073709551612 bytes long",
    );
    check(
        "value length",
        Writer::new().kv("s", 8, &(1u64 << 40).to_le_bytes()).bytes(),
        "the value of metadata key `s` says it is 1099511627776 bytes long",
    );
    check(
        "array count",
        Writer::new()
            .kv(
                "a",
                9,
                &[4u32.to_le_bytes().as_slice(), &(u64::MAX / 2).to_le_bytes()].concat(),
            )
            .bytes(),
        "says it holds 9223372036854775807 UINT32 elements",
    );
    // bad types and values
    check(
        "value type",
        Writer::new().kv("k", 13, &[0; 8]).bytes(),
        "metadata key `k` has unknown value type 13",
    );
    check(
        "elem type",
        Writer::new()
            .kv("k", 9, &[99u32.to_le_bytes().as_slice(), &0u64.to_le_bytes()].concat())
            .bytes(),
        "array of unknown value type 99",
    );
    check(
        "bool",
        Writer::new().kv("k", 7, &[2]).bytes(),
        "`k` is a BOOL with byte value 2",
    );
    check(
        "utf8",
        Writer::new()
            .kv("k", 8, &[2u64.to_le_bytes().as_slice(), &[0xff, 0xfe]].concat())
            .bytes(),
        "the value of metadata key `k` is not valid UTF-8",
    );
    check(
        "duplicate key",
        Writer::new().kv_u32("k", 1).kv_u32("k", 2).bytes(),
        "metadata key `k` appears twice",
    );
    check(
        "alignment type",
        Writer::new().kv_str("general.alignment", "32").bytes(),
        "`general.alignment` must be a UINT32 power of two",
    );
    check(
        "alignment value",
        Writer::new().kv_u32("general.alignment", 48).bytes(),
        "`general.alignment` must be a UINT32 power of two, but is UINT32 48",
    );
    let mut deep = Vec::new();
    for _ in 0..20 {
        deep.extend_from_slice(&9u32.to_le_bytes());
        deep.extend_from_slice(&1u64.to_le_bytes());
    }
    deep.extend_from_slice(&[0; 12]);
    check(
        "deep",
        Writer::new().kv("k", 9, &deep).bytes(),
        "nests arrays more than 8 deep",
    );
    // tensor table
    check(
        "n_dims",
        Writer::new().tensor("t", &[1, 1, 1, 1, 1], 0, vec![0; 4]).bytes(),
        "tensor t has 5 dimensions (ggml allows at most 4)",
    );
    check(
        "ggml type",
        Writer::new().tensor("t", &[4], 77, vec![0; 16]).bytes(),
        "tensor t has ggml type id 77, which this reader does not know",
    );
    check(
        "block",
        Writer::new().tensor("t", &[40], 2, vec![0; 64]).bytes(),
        "tensor t has ne[0] = 40 elements per row, not a multiple of Q4_0's block of 32",
    );
    check(
        "overflow",
        Writer::new().tensor("t", &[1 << 32, 1 << 32], 0, vec![]).bytes(),
        "whose product overflows",
    );
    check(
        "duplicate tensor",
        Writer::new()
            .tensor("t", &[4], 0, vec![0; 16])
            .tensor("t", &[4], 0, vec![0; 16])
            .bytes(),
        "tensor t appears twice",
    );
    check(
        "past the end",
        Writer::new().tensor("t", &[1 << 20], 0, vec![0; 16]).bytes(),
        "the data of tensor t (4194304 bytes",
    );
    let mut b = good.bytes();
    let off = find(&b, &[1, 0, 0, 0, 0, 0, 0, 0, b't']) + 9 + 4 + 8 + 4; // the offset field of tensor t
    assert_eq!(&b[off..off + 8], &0u64.to_le_bytes());
    b[off..off + 8].copy_from_slice(&8u64.to_le_bytes());
    check(
        "misaligned",
        b,
        "tensor t has data offset 8, not a multiple of the alignment 32",
    );
    // the file itself
    let msg = match GgufFile::open(dir.path().join("nope.gguf")) {
        Err(Error::MissingFile { what, .. }) => what,
        other => panic!("expected MissingFile, got {other:?}"),
    };
    assert!(msg.contains("make setup"), "{msg}");
    check_dir(dir.path());
}

fn check_dir(dir: &Path) {
    let msg = gguf_msg(GgufFile::open(dir));
    assert!(msg.contains("not a regular file"), "{msg}");
}

#[test]
fn unsupported_tokenizers_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let strs = |items: &[&str]| {
        let mut p = 8u32.to_le_bytes().to_vec();
        p.extend_from_slice(&(items.len() as u64).to_le_bytes());
        items.iter().for_each(|s| string(&mut p, s));
        p
    };
    let base = |model: &str, pre: &str| {
        Writer::new()
            .kv_str("tokenizer.ggml.model", model)
            .kv_str("tokenizer.ggml.pre", pre)
    };
    let g = open_bytes(dir.path(), "llama.gguf", &base("llama", "default").bytes()).unwrap();
    let msg = gguf_msg(tokenizer_from_gguf(&g));
    assert!(
        msg.contains("tokenizer.ggml.model is `llama`; this reader builds only byte-level BPE tokenizers (`gpt2`)"),
        "{msg}"
    );
    let g = open_bytes(dir.path(), "qwen.gguf", &base("gpt2", "qwen2").bytes()).unwrap();
    let msg = gguf_msg(tokenizer_from_gguf(&g));
    assert!(
        msg.contains("tokenizer.ggml.pre is `qwen2`, which this reader does not support; supported: smollm, gpt-2"),
        "{msg}"
    );
    let g = open_bytes(
        dir.path(),
        "nomerges.gguf",
        &base("gpt2", "gpt-2")
            .kv("tokenizer.ggml.tokens", 9, &strs(&["a", "b", "ab"]))
            .bytes(),
    )
    .unwrap();
    let msg = gguf_msg(tokenizer_from_gguf(&g));
    assert!(msg.contains("`tokenizer.ggml.merges` is missing"), "{msg}");
    // a working toy: tokens a, b, ab, Ġ, <|x|> (control); merge "a b"
    let toy = base("gpt2", "gpt-2")
        .kv("tokenizer.ggml.tokens", 9, &strs(&["a", "b", "ab", "Ġ", "<|x|>"]))
        .kv("tokenizer.ggml.merges", 9, &strs(&["a b"]))
        .kv(
            "tokenizer.ggml.token_type",
            9,
            &[
                5u32.to_le_bytes().as_slice(),
                &5u64.to_le_bytes(),
                &[1i32, 1, 1, 1, 3]
                    .iter()
                    .flat_map(|t| t.to_le_bytes())
                    .collect::<Vec<u8>>(),
            ]
            .concat(),
        );
    let g = open_bytes(dir.path(), "toy.gguf", &toy.bytes()).unwrap();
    let tok = tokenizer_from_gguf(&g).unwrap();
    assert_eq!(tok.encode("ab ab<|x|>", false).unwrap().get_ids(), [2, 3, 2, 4]);
    let bad = base("gpt2", "gpt-2").kv("tokenizer.ggml.tokens", 9, &strs(&["a"])).kv(
        "tokenizer.ggml.merges",
        9,
        &strs(&["a"]),
    );
    let g = open_bytes(dir.path(), "badmerge.gguf", &bad.bytes()).unwrap();
    let msg = gguf_msg(tokenizer_from_gguf(&g));
    assert!(
        msg.contains("tokenizer.ggml.merges[0] is \"a\", not two tokens separated by one space"),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------------------
// Dequantisers on hand-made blocks
// ---------------------------------------------------------------------------------------

#[test]
fn dequantise_f32_f16_bf16() {
    let f32s: Vec<u8> = [1.5f32, -2.0, f32::MIN_POSITIVE]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(
        dequantize(GgmlType::F32, &f32s).unwrap(),
        [1.5, -2.0, f32::MIN_POSITIVE]
    );
    let f16s: Vec<u8> = [0x3C00u16, 0xC000, 0x7BFF, 0x0001, 0x8000]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let got = dequantize(GgmlType::F16, &f16s).unwrap();
    assert_eq!(got[..3], [1.0, -2.0, 65504.0]);
    assert_eq!(got[3], 2f32.powi(-24)); // smallest subnormal f16
    assert_eq!(got[4].to_bits(), 0x8000_0000); // -0.0
    let bf16s: Vec<u8> = [0x3F80u16, 0xC040, 0x7F80]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(dequantize(GgmlType::BF16, &bf16s).unwrap(), [1.0, -3.0, f32::INFINITY]);
    assert!(dequantize(GgmlType::F32, &[0; 3]).is_none(), "a partial element");
}

#[test]
fn dequantise_q8_0() {
    // two blocks: d = 0.5 with q = -128, -127+8k ...; d = 1/3 (as f16) with q = 0..31
    let mut data = f16(0.5).to_vec();
    let q1: Vec<i8> = (0..32)
        .map(|i| if i == 0 { -128 } else { (i * 8 - 129) as i8 })
        .collect();
    data.extend(q1.iter().map(|&q| q as u8));
    data.extend_from_slice(&f16(1.0 / 3.0));
    data.extend((0..32u8).collect::<Vec<_>>());
    let got = dequantize(GgmlType::Q8_0, &data).unwrap();
    assert_eq!(got.len(), 64);
    assert_eq!(got[0], -64.0);
    assert_eq!(got[31], 119.0 * 0.5);
    let d = half::f16::from_f32(1.0 / 3.0).to_f32();
    for (i, &q) in q1.iter().enumerate() {
        assert_eq!(got[i], q as f32 * 0.5);
    }
    for i in 0..32 {
        assert_eq!(
            got[32 + i].to_bits(),
            (i as f32 * d).to_bits(),
            "element {i}: q * d in f32"
        );
    }
    assert!(dequantize(GgmlType::Q8_0, &data[..33]).is_none(), "a partial block");
}

#[test]
fn dequantise_q4_0() {
    // byte j holds element j in its low nibble and element 16 + j in its high nibble
    let mut data = f16(2.0).to_vec();
    data.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
    let got = dequantize(GgmlType::Q4_0, &data).unwrap();
    for j in 0..16 {
        assert_eq!(got[j], (j as f32 - 8.0) * 2.0, "element {j} (low nibble)");
        assert_eq!(got[16 + j], (7.0 - j as f32) * 2.0, "element {} (high nibble)", 16 + j);
    }
    assert_eq!((got[0], got[15], got[16], got[31]), (-16.0, 14.0, 14.0, -16.0));
}

#[test]
fn dequantise_q4_1() {
    let (d, m) = (0.25f32, -1.0f32);
    let mut data = [f16(d), f16(m)].concat();
    data.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
    // a second block whose d and m are not short binary fractions
    let (d2, m2) = (
        half::f16::from_f32(0.0123).to_f32(),
        half::f16::from_f32(-0.0917).to_f32(),
    );
    data.extend_from_slice(&f16(d2));
    data.extend_from_slice(&f16(m2));
    data.extend((0..16u8).map(|j| (j * 7 % 16) | (((j * 5 + 3) % 16) << 4)));
    let got = dequantize(GgmlType::Q4_1, &data).unwrap();
    for j in 0..16 {
        assert_eq!(got[j], j as f32 * d + m, "element {j}");
        assert_eq!(got[16 + j], (15 - j) as f32 * d + m, "element {}", 16 + j);
        let (lo, hi) = ((j * 7 % 16) as f32, ((j * 5 + 3) % 16) as f32);
        assert_eq!(got[32 + j].to_bits(), (lo * d2 + m2).to_bits());
        assert_eq!(got[48 + j].to_bits(), (hi * d2 + m2).to_bits());
    }
    assert_eq!((got[0], got[15], got[16], got[31]), (-1.0, 2.75, 2.75, -1.0));
    // a 4-bit q times an f16 d (11 significant bits) is exact in f32, so q * d + m has one
    // rounding whether or not a compiler fuses it: ggml, numpy and this reader agree
    for q in 0..16 {
        assert_eq!((q as f32 * d2) as f64, q as f64 * d2 as f64);
        assert_eq!((q as f32 * d2 + m2).to_bits(), (q as f32).mul_add(d2, m2).to_bits());
    }
}

#[test]
fn unsupported_types_do_not_dequantise() {
    assert!(dequantize(GgmlType::Q6_K, &[0; 210]).is_none());
    assert!(dequantize(GgmlType(12345), &[0; 4]).is_none());
    assert_eq!(GgmlType::Q6_K.to_string(), "Q6_K");
    assert_eq!(GgmlType(12345).to_string(), "unknown type 12345");
    assert_eq!(GgmlType::Q4_1.block(), Some((32, 20)));
}

// ---------------------------------------------------------------------------------------
// The Llama loader on hand-made files: architecture and hyper-parameters
// ---------------------------------------------------------------------------------------

#[test]
fn the_llama_loader_names_an_unsupported_architecture_and_missing_or_mistyped_keys() {
    use gpt2_explorer::LlamaConfig;
    let dir = tempfile::tempdir().unwrap();
    let g = open_bytes(
        dir.path(),
        "qwen.gguf",
        &Writer::new().kv_str("general.architecture", "qwen2").bytes(),
    )
    .unwrap();
    let msg = gguf_msg(LlamaConfig::from_gguf(&g));
    assert!(msg.contains("architecture `qwen2` is not supported"), "{msg}");

    let llama = || {
        Writer::new()
            .kv_str("general.architecture", "llama")
            .kv_u32("llama.attention.head_count", 4)
            .kv_u32("llama.embedding_length", 32)
            .kv_u32("llama.vocab_size", 10)
            .kv_u32("llama.feed_forward_length", 64)
            .kv_u32("llama.block_count", 1)
            .kv_u32("llama.context_length", 16)
    };
    let g = open_bytes(dir.path(), "noeps.gguf", &llama().bytes()).unwrap();
    let msg = gguf_msg(LlamaConfig::from_gguf(&g));
    assert!(
        msg.contains("llama.attention.layer_norm_rms_epsilon"),
        "a missing key must be named: {msg}"
    );

    let eps = 1e-5f32.to_le_bytes();
    let ok = llama().kv("llama.attention.layer_norm_rms_epsilon", 6, &eps);
    let cfg = LlamaConfig::from_gguf(&open_bytes(dir.path(), "ok.gguf", &ok.bytes()).unwrap()).unwrap();
    assert_eq!(
        (cfg.num_key_value_heads, cfg.head_dim, cfg.rope_theta),
        (4, 8, 10000.0),
        "absent optional keys take their defaults"
    );

    let mistyped = llama()
        .kv("llama.attention.layer_norm_rms_epsilon", 6, &eps)
        .kv_str("llama.attention.head_count_kv", "two");
    let msg = gguf_msg(LlamaConfig::from_gguf(
        &open_bytes(dir.path(), "mistyped.gguf", &mistyped.bytes()).unwrap(),
    ));
    assert!(
        msg.contains("llama.attention.head_count_kv"),
        "a mistyped optional key must be an error, not a default: {msg}"
    );
}
