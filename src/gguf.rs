//! A small, strict reader for GGUF files, llama.cpp's one-file model format: header,
//! metadata, tensor table, and tensors dequantised to f32 (F32, F16, BF16, Q8_0, Q4_0,
//! Q4_1), plus the byte-level BPE tokenizer stored in the metadata. It lets the project
//! run a real pretrained model offline (SmolLM2-135M-Instruct, 98 MB) for every
//! model-made figure of the essay, and shows section 1's tokens coming from the same file.
//!
//! Layout (versions 2 and 3, little-endian): magic `GGUF`, u32 version, u64 tensor count,
//! u64 metadata count; metadata as (string key, u32 type, value); tensor infos as
//! (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset); padding to
//! `general.alignment` (default 32); then the data section, where each tensor's offset
//! points. Strings are a u64 length and UTF-8 bytes; arrays a u32 element type, a u64
//! count and the elements. `ne[0]` varies fastest, so a weight with `ne = [in, out]` is
//! the row-major (numpy / torch) matrix of shape `[out, in]`.
//!
//! Every read is bounds-checked against the file: a truncated or corrupt file gives
//! [`Error::Gguf`] naming what was being read, and no length field is trusted with an
//! allocation before it has been checked against the bytes that remain.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{Error, Result};

/// The bytes every GGUF file starts with.
pub const MAGIC: [u8; 4] = *b"GGUF";
/// `general.alignment` when the file does not say.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's `GGML_MAX_DIMS`: a tensor has at most this many dimensions.
pub const MAX_DIMS: usize = 4;
/// How deeply arrays may nest in metadata (real files use 1; this bounds the recursion).
const MAX_ARRAY_DEPTH: usize = 8;

// ---------------------------------------------------------------------------------------
// Metadata values
// ---------------------------------------------------------------------------------------

/// The type of a metadata value, with GGUF's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaType {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    Str = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
}

impl MetaType {
    pub fn from_u32(t: u32) -> Option<Self> {
        use MetaType::*;
        Some(match t {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => Str,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    /// The name PyPI `gguf` gives the type (`GGUFValueType`), e.g. `UINT32`.
    pub fn name(self) -> &'static str {
        use MetaType::*;
        match self {
            U8 => "UINT8",
            I8 => "INT8",
            U16 => "UINT16",
            I16 => "INT16",
            U32 => "UINT32",
            I32 => "INT32",
            F32 => "FLOAT32",
            Bool => "BOOL",
            Str => "STRING",
            Array => "ARRAY",
            U64 => "UINT64",
            I64 => "INT64",
            F64 => "FLOAT64",
        }
    }

    /// Bytes one value of this type takes at least in the file (strings: the length
    /// field; arrays: element type + count), for checking counts before allocating.
    fn min_size(self) -> u64 {
        use MetaType::*;
        match self {
            U8 | I8 | Bool => 1,
            U16 | I16 => 2,
            U32 | I32 | F32 => 4,
            U64 | I64 | F64 | Str => 8,
            Array => 12,
        }
    }
}

impl fmt::Display for MetaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    Str(String),
    /// The element type (kept for empty arrays) and the elements.
    Array(MetaType, Vec<MetaValue>),
}

impl MetaValue {
    pub fn ty(&self) -> MetaType {
        match self {
            MetaValue::U8(_) => MetaType::U8,
            MetaValue::I8(_) => MetaType::I8,
            MetaValue::U16(_) => MetaType::U16,
            MetaValue::I16(_) => MetaType::I16,
            MetaValue::U32(_) => MetaType::U32,
            MetaValue::I32(_) => MetaType::I32,
            MetaValue::U64(_) => MetaType::U64,
            MetaValue::I64(_) => MetaType::I64,
            MetaValue::F32(_) => MetaType::F32,
            MetaValue::F64(_) => MetaType::F64,
            MetaValue::Bool(_) => MetaType::Bool,
            MetaValue::Str(_) => MetaType::Str,
            MetaValue::Array(..) => MetaType::Array,
        }
    }

    /// Any integer type, as i128 (holds every u64 and i64).
    pub fn as_int(&self) -> Option<i128> {
        Some(match *self {
            MetaValue::U8(v) => v.into(),
            MetaValue::I8(v) => v.into(),
            MetaValue::U16(v) => v.into(),
            MetaValue::I16(v) => v.into(),
            MetaValue::U32(v) => v.into(),
            MetaValue::I32(v) => v.into(),
            MetaValue::U64(v) => v.into(),
            MetaValue::I64(v) => v.into(),
            _ => return None,
        })
    }

    /// F32 or F64, as f64 (exact).
    pub fn as_float(&self) -> Option<f64> {
        match *self {
            MetaValue::F32(v) => Some(v.into()),
            MetaValue::F64(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetaValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[MetaValue]> {
        match self {
            MetaValue::Array(_, items) => Some(items),
            _ => None,
        }
    }

    /// A short description for error messages: `UINT32 30`, `ARRAY of 49152 STRING`.
    pub fn describe(&self) -> String {
        match self {
            MetaValue::Array(t, items) => format!("ARRAY of {} {t}", items.len()),
            MetaValue::Str(s) if s.chars().count() > 40 => {
                format!("STRING {:?}...", s.chars().take(40).collect::<String>())
            }
            MetaValue::Str(s) => format!("STRING {s:?}"),
            MetaValue::Bool(b) => format!("BOOL {b}"),
            MetaValue::F32(v) => format!("FLOAT32 {v}"),
            MetaValue::F64(v) => format!("FLOAT64 {v}"),
            other => format!("{} {}", other.ty(), other.as_int().unwrap_or_default()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// ggml tensor types
// ---------------------------------------------------------------------------------------

/// A ggml tensor type (GGUF numbering), with its block layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GgmlType(pub u32);

/// (id, name, elements per block, bytes per block), as in ggml / PyPI `gguf`'s
/// `GGML_QUANT_SIZES`.
const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 40),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
];

/// The types [`dequantize`] handles.
pub const SUPPORTED_TYPES: [GgmlType; 6] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q8_0,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
];

impl GgmlType {
    pub const F32: GgmlType = GgmlType(0);
    pub const F16: GgmlType = GgmlType(1);
    pub const Q4_0: GgmlType = GgmlType(2);
    pub const Q4_1: GgmlType = GgmlType(3);
    pub const Q8_0: GgmlType = GgmlType(8);
    pub const Q6_K: GgmlType = GgmlType(14);
    pub const BF16: GgmlType = GgmlType(30);

    fn entry(self) -> Option<&'static (u32, &'static str, u64, u64)> {
        GGML_TYPES.iter().find(|e| e.0 == self.0)
    }

    /// The ggml name (`Q4_1`), or `None` for an id this reader does not know.
    pub fn name(self) -> Option<&'static str> {
        self.entry().map(|e| e.1)
    }

    /// (elements per block, bytes per block), or `None` for an unknown id.
    pub fn block(self) -> Option<(u64, u64)> {
        self.entry().map(|e| (e.2, e.3))
    }

    /// Whether [`dequantize`] handles this type.
    pub fn is_supported(self) -> bool {
        SUPPORTED_TYPES.contains(&self)
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "unknown type {}", self.0),
        }
    }
}

/// One entry of the tensor table.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// Dimensions in GGUF order: `ne[0]` varies fastest.
    pub ne: Vec<u64>,
    pub ggml_type: GgmlType,
    /// Byte offset from the start of the data section.
    pub offset: u64,
    /// Bytes the tensor takes in the data section.
    pub n_bytes: u64,
}

impl TensorInfo {
    /// The row-major (numpy / torch) shape: `ne` reversed.
    pub fn shape(&self) -> Vec<usize> {
        self.ne.iter().rev().map(|&d| d as usize).collect()
    }

    pub fn n_elements(&self) -> u64 {
        self.ne.iter().product()
    }
}

// ---------------------------------------------------------------------------------------
// Bounds-checked reading
// ---------------------------------------------------------------------------------------

struct Cursor<'a> {
    path: &'a Path,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, msg: String) -> Error {
        Error::Gguf {
            path: self.path.into(),
            msg,
        }
    }

    fn remaining(&self) -> u64 {
        (self.buf.len() - self.pos) as u64
    }

    fn take(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.err(format!(
                "truncated or corrupt: reading {} needs {n} bytes at offset {}, but the file ends at {} bytes; delete it and download it again",
                what(),
                self.pos,
                self.buf.len()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N]> {
        Ok(self.take(N as u64, what)?.try_into().expect("take returns N bytes"))
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &dyn Fn() -> String) -> Result<String> {
        let len = self.u64(&|| format!("the length of {}", what()))?;
        if len > self.remaining() {
            return Err(self.err(format!(
                "truncated or corrupt: {} says it is {len} bytes long at offset {}, but only {} bytes remain in the file",
                what(),
                self.pos - 8,
                self.remaining()
            )));
        }
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|e| self.err(format!("corrupt: {} is not valid UTF-8 ({e})", what())))
    }

    fn value(&mut self, ty: MetaType, depth: usize, what: &dyn Fn() -> String) -> Result<MetaValue> {
        Ok(match ty {
            MetaType::U8 => MetaValue::U8(u8::from_le_bytes(self.array(what)?)),
            MetaType::I8 => MetaValue::I8(i8::from_le_bytes(self.array(what)?)),
            MetaType::U16 => MetaValue::U16(u16::from_le_bytes(self.array(what)?)),
            MetaType::I16 => MetaValue::I16(i16::from_le_bytes(self.array(what)?)),
            MetaType::U32 => MetaValue::U32(u32::from_le_bytes(self.array(what)?)),
            MetaType::I32 => MetaValue::I32(i32::from_le_bytes(self.array(what)?)),
            MetaType::U64 => MetaValue::U64(u64::from_le_bytes(self.array(what)?)),
            MetaType::I64 => MetaValue::I64(i64::from_le_bytes(self.array(what)?)),
            MetaType::F32 => MetaValue::F32(f32::from_le_bytes(self.array(what)?)),
            MetaType::F64 => MetaValue::F64(f64::from_le_bytes(self.array(what)?)),
            MetaType::Bool => match self.array::<1>(what)?[0] {
                0 => MetaValue::Bool(false),
                1 => MetaValue::Bool(true),
                b => {
                    return Err(self.err(format!(
                        "corrupt: {} is a BOOL with byte value {b} (must be 0 or 1)",
                        what()
                    )))
                }
            },
            MetaType::Str => MetaValue::Str(self.string(what)?),
            MetaType::Array => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(self.err(format!(
                        "corrupt: {} nests arrays more than {MAX_ARRAY_DEPTH} deep",
                        what()
                    )));
                }
                let code = self.u32(&|| format!("the element type of {}", what()))?;
                let elem = MetaType::from_u32(code).ok_or_else(|| {
                    self.err(format!(
                        "corrupt: {} is an array of unknown value type {code} (GGUF knows 0..=12)",
                        what()
                    ))
                })?;
                let count = self.u64(&|| format!("the element count of {}", what()))?;
                let need = count.checked_mul(elem.min_size());
                if need.is_none_or(|n| n > self.remaining()) {
                    return Err(self.err(format!(
                        "truncated or corrupt: {} says it holds {count} {elem} elements at offset {}, more than the {} bytes left in the file can hold",
                        what(),
                        self.pos - 8,
                        self.remaining()
                    )));
                }
                let mut items = Vec::with_capacity(count as usize);
                for i in 0..count {
                    items.push(self.value(elem, depth + 1, &|| format!("element {i} of {}", what()))?);
                }
                MetaValue::Array(elem, items)
            }
        })
    }
}

// ---------------------------------------------------------------------------------------
// The file
// ---------------------------------------------------------------------------------------

/// An open GGUF file: header, metadata and tensor table parsed, tensor data memory-mapped.
pub struct GgufFile {
    /// The file it was read from (for error messages).
    pub path: PathBuf,
    mmap: memmap2::Mmap,
    parsed: Parsed,
}

/// Everything in a GGUF file but the tensor data.
struct Parsed {
    version: u32,
    metadata: Vec<(String, MetaValue)>,
    meta_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    alignment: u64,
    data_offset: u64,
}

impl fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("version", &self.parsed.version)
            .field("metadata", &self.parsed.metadata.len())
            .field("tensors", &self.parsed.tensors.len())
            .finish()
    }
}

impl GgufFile {
    /// Opens and parses a GGUF file (versions 2 and 3, little-endian). Tensor data is
    /// only checked to lie inside the file; it is read by [`GgufFile::tensor_f32`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let gguf_err = |msg: String| Error::Gguf { path: path.into(), msg };
        let file = std::fs::File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::MissingFile {
                    path: path.into(),
                    what: "no GGUF file at this path (`make setup` downloads SmolLM2-135M-Instruct)".into(),
                }
            } else {
                Error::io(path, e)
            }
        })?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if !meta.is_file() {
            return Err(gguf_err("is not a regular file".into()));
        }
        if meta.len() < 24 {
            return Err(gguf_err(format!(
                "truncated or corrupt: the file is {} bytes long, shorter than a GGUF header (24 bytes)",
                meta.len()
            )));
        }
        // SAFETY: the map is read-only. Like every memory map it assumes the file is not
        // truncated by another process while open (that would fault, not corrupt memory).
        let mmap = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let parsed = parse(path, &mmap)?;
        Ok(GgufFile {
            path: path.into(),
            mmap,
            parsed,
        })
    }

    /// The GGUF format version (2 or 3).
    pub fn version(&self) -> u32 {
        self.parsed.version
    }

    /// `general.alignment`, or 32.
    pub fn alignment(&self) -> u64 {
        self.parsed.alignment
    }

    /// Where the data section starts, in bytes from the start of the file.
    pub fn data_offset(&self) -> u64 {
        self.parsed.data_offset
    }

    /// The file's size in bytes.
    pub fn file_size(&self) -> u64 {
        self.mmap.len() as u64
    }

    /// Every metadata key and value, in file order.
    pub fn metadata(&self) -> &[(String, MetaValue)] {
        &self.parsed.metadata
    }

    fn err(&self, msg: String) -> Error {
        Error::Gguf {
            path: self.path.clone(),
            msg,
        }
    }

    /// A metadata value; an error names the key when it is missing.
    pub fn get(&self, key: &str) -> Result<&MetaValue> {
        self.parsed
            .meta_index
            .get(key)
            .map(|&i| &self.parsed.metadata[i].1)
            .ok_or_else(|| {
                self.err(format!(
                    "metadata key `{key}` is missing (the file has {} keys)",
                    self.parsed.metadata.len()
                ))
            })
    }

    fn mistyped(&self, key: &str, want: &str, got: &MetaValue) -> Error {
        self.err(format!(
            "metadata key `{key}` should be {want}, but is {}",
            got.describe()
        ))
    }

    pub fn get_str(&self, key: &str) -> Result<&str> {
        let v = self.get(key)?;
        v.as_str().ok_or_else(|| self.mistyped(key, "a STRING", v))
    }

    /// Any integer type whose value fits in u32.
    pub fn get_u32(&self, key: &str) -> Result<u32> {
        let v = self.get(key)?;
        let i = v.as_int().ok_or_else(|| self.mistyped(key, "an integer", v))?;
        u32::try_from(i).map_err(|_| self.mistyped(key, "an integer in 0..=4294967295", v))
    }

    /// FLOAT32, or FLOAT64 (rounded to f32).
    pub fn get_f32(&self, key: &str) -> Result<f32> {
        let v = self.get(key)?;
        match *v {
            MetaValue::F32(x) => Ok(x),
            MetaValue::F64(x) => Ok(x as f32),
            _ => Err(self.mistyped(key, "a FLOAT32 or FLOAT64", v)),
        }
    }

    pub fn get_bool(&self, key: &str) -> Result<bool> {
        let v = self.get(key)?;
        v.as_bool().ok_or_else(|| self.mistyped(key, "a BOOL", v))
    }

    /// An array of strings.
    pub fn get_str_array(&self, key: &str) -> Result<Vec<&str>> {
        let v = self.get(key)?;
        match v {
            MetaValue::Array(MetaType::Str, items) => Ok(items.iter().filter_map(MetaValue::as_str).collect()),
            _ => Err(self.mistyped(key, "an ARRAY of STRING", v)),
        }
    }

    /// An array of any integer type, as i64 (values beyond i64 are an error).
    pub fn get_int_array(&self, key: &str) -> Result<Vec<i64>> {
        let v = self.get(key)?;
        let items = match v {
            MetaValue::Array(t, items)
                if !matches!(
                    t,
                    MetaType::F32 | MetaType::F64 | MetaType::Bool | MetaType::Str | MetaType::Array
                ) =>
            {
                items
            }
            _ => return Err(self.mistyped(key, "an ARRAY of integers", v)),
        };
        items
            .iter()
            .map(|x| {
                x.as_int()
                    .and_then(|i| i64::try_from(i).ok())
                    .ok_or_else(|| self.mistyped(key, "an ARRAY of integers that fit in i64", v))
            })
            .collect()
    }

    /// `general.architecture`, e.g. `llama`.
    pub fn architecture(&self) -> Result<&str> {
        self.get_str("general.architecture")
    }

    /// The tensor table, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.parsed.tensors
    }

    /// Tensor names, in file order.
    pub fn tensor_names(&self) -> Vec<String> {
        self.parsed.tensors.iter().map(|t| t.name.clone()).collect()
    }

    pub fn has_tensor(&self, name: &str) -> bool {
        self.parsed.tensor_index.contains_key(name)
    }

    /// One tensor's table entry; an error names a missing tensor.
    pub fn tensor_info(&self, name: &str) -> Result<&TensorInfo> {
        self.parsed
            .tensor_index
            .get(name)
            .map(|&i| &self.parsed.tensors[i])
            .ok_or_else(|| {
                self.err(format!(
                    "tensor `{name}` is not in the file (it has {} tensors)",
                    self.parsed.tensors.len()
                ))
            })
    }

    /// The raw bytes of a tensor in the data section.
    pub fn tensor_bytes(&self, name: &str) -> Result<&[u8]> {
        let t = self.tensor_info(name)?;
        let start = (self.parsed.data_offset + t.offset) as usize; // checked against the file size in open
        Ok(&self.mmap[start..start + t.n_bytes as usize])
    }

    /// A tensor dequantised to f32, with its row-major shape (`ne` reversed): a weight
    /// stored with `ne = [in, out]` comes back as `[out, in]`, as PyPI `gguf`'s
    /// `GGUFReader` + `gguf.quants.dequantize` give it.
    pub fn tensor_f32(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
        let t = self.tensor_info(name)?;
        if !t.ggml_type.is_supported() {
            let supported: Vec<String> = SUPPORTED_TYPES.iter().map(|t| t.to_string()).collect();
            return Err(self.err(format!(
                "tensor {name} has type {}, which this reader does not support; supported: {}",
                t.ggml_type,
                supported.join(", ")
            )));
        }
        let values = dequantize(t.ggml_type, self.tensor_bytes(name)?)
            .expect("supported type and whole blocks (checked in open)");
        Ok((values, t.shape()))
    }
}

/// Parses everything but the tensor data (whose extents are checked against the file).
fn parse(path: &Path, buf: &[u8]) -> Result<Parsed> {
    let mut c = Cursor { path, buf, pos: 0 };
    let magic: [u8; 4] = c.array(&|| "the magic number".into())?;
    if magic != MAGIC {
        return Err(c.err(format!(
            "not a GGUF file: it starts with bytes {magic:02x?}, not \"GGUF\" (47 47 55 46)"
        )));
    }
    let version = c.u32(&|| "the format version".into())?;
    if version != 2 && version != 3 {
        let hint = if matches!(version.swap_bytes(), 2 | 3) {
            " (it looks like a big-endian GGUF, which this reader does not read)".to_string()
        } else if version == 1 {
            " (version 1 is the 2023 pre-release format; convert it again with a current llama.cpp)".to_string()
        } else {
            String::new()
        };
        return Err(c.err(format!(
            "unsupported GGUF version {version}; this reader reads versions 2 and 3{hint}"
        )));
    }
    let n_tensors = c.u64(&|| "the tensor count".into())?;
    let n_kv = c.u64(&|| "the metadata key count".into())?;
    // The counts are not trusted with allocations: a key/value takes at least 13 bytes
    // and a tensor info at least 24, so capacity is capped by what the file can hold, and
    // a count that is too large ends at the first read past the end, named.
    let cap = |n: u64, min: u64, remaining: u64| n.min(remaining / min) as usize;
    let mut metadata = Vec::with_capacity(cap(n_kv, 13, c.remaining()));
    let mut meta_index = HashMap::with_capacity(cap(n_kv, 13, c.remaining()));
    for i in 0..n_kv {
        let key = c.string(&|| format!("the key of metadata entry {i}"))?;
        let code = c.u32(&|| format!("the value type of metadata key `{key}`"))?;
        let ty = MetaType::from_u32(code).ok_or_else(|| {
            c.err(format!(
                "corrupt: metadata key `{key}` has unknown value type {code} (GGUF knows 0..=12)"
            ))
        })?;
        let value = c.value(ty, 0, &|| format!("the value of metadata key `{key}`"))?;
        if meta_index.insert(key.clone(), metadata.len()).is_some() {
            return Err(c.err(format!("corrupt: metadata key `{key}` appears twice")));
        }
        metadata.push((key, value));
    }

    let alignment = match meta_index.get("general.alignment").map(|&i| &metadata[i].1) {
        None => DEFAULT_ALIGNMENT,
        Some(MetaValue::U32(a)) if a.is_power_of_two() => u64::from(*a),
        Some(v) => {
            return Err(c.err(format!(
                "corrupt: `general.alignment` must be a UINT32 power of two, but is {}",
                v.describe()
            )))
        }
    };

    let mut tensors = Vec::with_capacity(cap(n_tensors, 24, c.remaining()));
    let mut tensor_index = HashMap::with_capacity(cap(n_tensors, 24, c.remaining()));
    for i in 0..n_tensors {
        let name = c.string(&|| format!("the name of tensor {i}"))?;
        let n_dims = c.u32(&|| format!("the number of dimensions of tensor {name}"))?;
        if n_dims as usize > MAX_DIMS {
            return Err(c.err(format!(
                "corrupt: tensor {name} has {n_dims} dimensions (ggml allows at most {MAX_DIMS})"
            )));
        }
        let mut ne = Vec::with_capacity(n_dims as usize);
        for d in 0..n_dims {
            ne.push(c.u64(&|| format!("dimension {d} of tensor {name}"))?);
        }
        let code = c.u32(&|| format!("the type of tensor {name}"))?;
        let ggml_type = GgmlType(code);
        let offset = c.u64(&|| format!("the data offset of tensor {name}"))?;
        let (block, block_bytes) = ggml_type.block().ok_or_else(|| {
            c.err(format!(
                "corrupt or too new: tensor {name} has ggml type id {code}, which this reader does not know"
            ))
        })?;
        let n_elements = ne
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .filter(|&n| n <= i64::MAX as u64);
        let Some(n_elements) = n_elements else {
            return Err(c.err(format!(
                "corrupt: tensor {name} has dimensions {ne:?}, whose product overflows"
            )));
        };
        if ne.first().copied().unwrap_or(1) % block != 0 {
            return Err(c.err(format!("corrupt: tensor {name} has ne[0] = {} elements per row, not a multiple of {ggml_type}'s block of {block}", ne[0])));
        }
        let n_bytes = n_elements / block * block_bytes;
        if offset % alignment != 0 {
            return Err(c.err(format!(
                "corrupt: tensor {name} has data offset {offset}, not a multiple of the alignment {alignment}"
            )));
        }
        if tensor_index.insert(name.clone(), tensors.len()).is_some() {
            return Err(c.err(format!("corrupt: tensor {name} appears twice in the tensor table")));
        }
        tensors.push(TensorInfo {
            name,
            ne,
            ggml_type,
            offset,
            n_bytes,
        });
    }

    let end = c.pos as u64;
    let data_offset = end.div_ceil(alignment) * alignment;
    let file_len = buf.len() as u64;
    for t in &tensors {
        let stop = data_offset.checked_add(t.offset).and_then(|s| s.checked_add(t.n_bytes));
        if stop.is_none_or(|s| s > file_len) {
            return Err(c.err(format!(
                "truncated or corrupt: the data of tensor {} ({} bytes at offset {} in the data section, which starts at {data_offset}) goes past the end of the file at {file_len} bytes; delete it and download it again",
                t.name, t.n_bytes, t.offset
            )));
        }
    }

    Ok(Parsed {
        version,
        metadata,
        meta_index,
        tensors,
        tensor_index,
        alignment,
        data_offset,
    })
}

// ---------------------------------------------------------------------------------------
// Dequantisation (exactly as ggml: d from f16 to f32, then f32 multiply / add, no FMA;
// q * d is exact in f32 anyway, since q has at most 8 bits and an f16 d 11)
// ---------------------------------------------------------------------------------------

fn f16_at(b: &[u8], i: usize) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([b[i], b[i + 1]])).to_f32()
}

/// Dequantises `data` (whole blocks of type `ty`, little-endian, as in a GGUF data
/// section) to f32 in storage order. `None` if the type is not one of
/// [`SUPPORTED_TYPES`] or `data` is not a whole number of blocks.
pub fn dequantize(ty: GgmlType, data: &[u8]) -> Option<Vec<f32>> {
    if !ty.is_supported() {
        return None;
    }
    let (block, block_bytes) = ty.block()?;
    let (block, block_bytes) = (block as usize, block_bytes as usize);
    if !data.len().is_multiple_of(block_bytes) {
        return None;
    }
    let mut out = vec![0f32; data.len() / block_bytes * block];
    let blocks = data.chunks_exact(block_bytes).zip(out.chunks_exact_mut(block));
    match ty {
        GgmlType::F32 => blocks.for_each(|(b, y)| y[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        GgmlType::F16 => blocks.for_each(|(b, y)| y[0] = f16_at(b, 0)),
        GgmlType::BF16 => {
            blocks.for_each(|(b, y)| y[0] = f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
        }
        GgmlType::Q8_0 => blocks.for_each(|(b, y)| {
            let d = f16_at(b, 0);
            for (y, &q) in y.iter_mut().zip(&b[2..34]) {
                *y = f32::from(q as i8) * d;
            }
        }),
        GgmlType::Q4_0 => blocks.for_each(|(b, y)| {
            let d = f16_at(b, 0);
            let (lo, hi) = y.split_at_mut(16);
            for ((&q, l), h) in b[2..18].iter().zip(lo).zip(hi) {
                *l = f32::from((q & 0x0F) as i8 - 8) * d;
                *h = f32::from((q >> 4) as i8 - 8) * d;
            }
        }),
        GgmlType::Q4_1 => blocks.for_each(|(b, y)| {
            let (d, m) = (f16_at(b, 0), f16_at(b, 2));
            let (lo, hi) = y.split_at_mut(16);
            for ((&q, l), h) in b[4..20].iter().zip(lo).zip(hi) {
                *l = f32::from(q & 0x0F) * d + m;
                *h = f32::from(q >> 4) * d + m;
            }
        }),
        _ => unreachable!("checked by is_supported"),
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------

/// GPT-2's byte -> printable-character map (`bytes_to_unicode`), which byte-level BPE
/// vocabularies are spelled in.
fn byte_alphabet() -> [char; 256] {
    let mut map = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        map[b as usize] = if printable {
            char::from(b)
        } else {
            n += 1;
            char::from_u32(255 + n).expect("U+0100.. are chars")
        };
    }
    map
}

/// The `tokenizers` pre-tokenizer for a `tokenizer.ggml.pre` value, matching the model's
/// Hugging Face `tokenizer.json` (and llama.cpp's split for that value).
fn pre_tokenizer_for(pre: &str) -> Option<PreTokenizerWrapper> {
    let byte_level = ByteLevel::default()
        .add_prefix_space(false)
        .trim_offsets(true)
        .use_regex(true);
    match pre {
        // SmolLM / SmolLM2: every digit is its own pre-token, then GPT-2's split.
        "smollm" => Some(PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            PreTokenizerWrapper::ByteLevel(byte_level),
        ]))),
        "gpt-2" => Some(PreTokenizerWrapper::ByteLevel(byte_level)),
        _ => None,
    }
}

/// The `tokenizer.ggml.pre` values [`tokenizer_from_gguf`] knows.
pub const SUPPORTED_PRE: [&str; 2] = ["smollm", "gpt-2"];

/// Builds the byte-level BPE tokenizer (`tokenizer.ggml.model == "gpt2"`) stored in a
/// GGUF file's metadata: vocabulary from `tokenizer.ggml.tokens` (id = index), merges
/// from `tokenizer.ggml.merges`, control tokens (type 3) as special added tokens and
/// user-defined ones (type 4) as added tokens, pre-tokenizer by `tokenizer.ggml.pre`,
/// byte-level decoder. No BOS is ever added. Follows transformers' GGUF loader, except
/// that the pre-tokenizer is the model's own (for `smollm`: digits split one by one, as
/// in SmolLM2's `tokenizer.json` and llama.cpp; transformers 5.24 leaves that out, which
/// only shows where a space precedes a non-ASCII numeral such as `" ²"`).
pub fn tokenizer_from_gguf(g: &GgufFile) -> Result<Tokenizer> {
    let model = g.get_str("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(g.err(format!(
            "tokenizer.ggml.model is `{model}`; this reader builds only byte-level BPE tokenizers (`gpt2`)"
        )));
    }
    let pre = g.get_str("tokenizer.ggml.pre")?;
    let pre_tokenizer = pre_tokenizer_for(pre).ok_or_else(|| {
        g.err(format!(
            "tokenizer.ggml.pre is `{pre}`, which this reader does not support; supported: {}",
            SUPPORTED_PRE.join(", ")
        ))
    })?;

    let tokens = g.get_str_array("tokenizer.ggml.tokens")?;
    let alphabet = byte_alphabet();
    let in_alphabet = |t: &str| t.chars().all(|ch| alphabet.contains(&ch));
    let mut vocab = Vocab::with_capacity(tokens.len());
    for (id, &tok) in tokens.iter().enumerate() {
        // a token not spelled in the byte alphabet is respelled (as transformers does)
        let spelled = if in_alphabet(tok) {
            tok.to_string()
        } else {
            tok.bytes().map(|b| alphabet[b as usize]).collect()
        };
        vocab.insert(spelled, id as u32);
    }
    let merges = g
        .get_str_array("tokenizer.ggml.merges")?
        .into_iter()
        .enumerate()
        .map(|(i, m)| match m.split(' ').collect::<Vec<_>>()[..] {
            [a, b] => Ok((a.to_string(), b.to_string())),
            _ => Err(g.err(format!(
                "tokenizer.ggml.merges[{i}] is {m:?}, not two tokens separated by one space"
            ))),
        })
        .collect::<Result<Vec<_>>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| g.err(format!("the tokenizer in the metadata does not build: {e}")))?;

    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));

    let types = match g.get("tokenizer.ggml.token_type") {
        Ok(_) => g.get_int_array("tokenizer.ggml.token_type")?,
        Err(_) => Vec::new(),
    };
    if !types.is_empty() && types.len() != tokens.len() {
        return Err(g.err(format!(
            "tokenizer.ggml.token_type has {} entries but tokenizer.ggml.tokens has {}",
            types.len(),
            tokens.len()
        )));
    }
    let control: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter(|&(t, &ty)| ty == 3 && in_alphabet(t))
        .map(|(t, _)| AddedToken::from(t.to_string(), true).normalized(false))
        .collect();
    tokenizer.add_special_tokens(&control);
    let user: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter(|&(t, &ty)| ty == 4 && in_alphabet(t))
        .map(|(t, _)| AddedToken::from(t.to_string(), false).normalized(false))
        .collect();
    tokenizer.add_tokens(&user);
    Ok(tokenizer)
}
