//! Reader for CTranslate2 `model.bin` files (binary format version 6, the one faster-whisper
//! models ship in). The file is: a header (version, spec name, revision), then every variable
//! (name, shape, data type, raw bytes), then an alias table. Only the index is read up front;
//! tensor bytes are read on demand, so converting large-v3 (3 GB) never holds it all in memory.

use super::convert::ConvertError;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// CTranslate2's `DataType` enum as serialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2Type {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl Ct2Type {
    fn from_id(id: u8) -> Option<Ct2Type> {
        Some(match id {
            0 => Ct2Type::F32,
            1 => Ct2Type::I8,
            2 => Ct2Type::I16,
            3 => Ct2Type::I32,
            4 => Ct2Type::F16,
            5 => Ct2Type::Bf16,
            _ => return None,
        })
    }
    pub fn size(self) -> usize {
        match self {
            Ct2Type::I8 => 1,
            Ct2Type::I16 | Ct2Type::F16 | Ct2Type::Bf16 => 2,
            Ct2Type::F32 | Ct2Type::I32 => 4,
        }
    }
}

/// One variable of the model: where its bytes are in the file.
#[derive(Debug, Clone)]
pub struct Ct2Var {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: Ct2Type,
    pub offset: u64,
    pub nbytes: usize,
}

impl Ct2Var {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The index of a CT2 model file.
#[derive(Debug)]
pub struct Ct2Model {
    pub path: PathBuf,
    pub version: u32,
    pub spec: String,
    pub revision: u32,
    pub vars: BTreeMap<String, Ct2Var>,
    /// alias -> target variable name.
    pub aliases: BTreeMap<String, String>,
    file: File,
}

struct Cursor<R> {
    r: R,
    pos: u64,
    path: PathBuf,
}

impl<R: Read + Seek> Cursor<R> {
    fn bad(&self, what: &str) -> ConvertError {
        ConvertError::BadCt2 {
            path: self.path.clone(),
            reason: format!("{what} at byte {}", self.pos),
        }
    }
    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ConvertError> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(|_| self.bad(what))?;
        self.pos += N as u64;
        Ok(b)
    }
    fn u8(&mut self, what: &str) -> Result<u8, ConvertError> {
        Ok(self.bytes::<1>(what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, ConvertError> {
        Ok(u16::from_le_bytes(self.bytes(what)?))
    }
    fn u32(&mut self, what: &str) -> Result<u32, ConvertError> {
        Ok(u32::from_le_bytes(self.bytes(what)?))
    }
    /// A length-prefixed, NUL-terminated string.
    fn string(&mut self, what: &str) -> Result<String, ConvertError> {
        let n = self.u16(what)? as usize;
        let mut b = vec![0u8; n];
        self.r
            .read_exact(&mut b)
            .map_err(|_| self.bad(&format!("truncated {what}")))?;
        self.pos += n as u64;
        if b.pop() != Some(0) {
            return Err(self.bad(&format!("{what} not NUL-terminated")));
        }
        String::from_utf8(b).map_err(|_| self.bad(&format!("{what} not UTF-8")))
    }
    fn skip(&mut self, n: u64, what: &str) -> Result<(), ConvertError> {
        self.pos = self
            .r
            .seek(SeekFrom::Current(n as i64))
            .map_err(|_| self.bad(what))?;
        Ok(())
    }
}

impl Ct2Model {
    /// Read the variable index of `path`.
    pub fn open(path: &Path) -> Result<Ct2Model, ConvertError> {
        let io = |e| ConvertError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut c = Cursor {
            r: BufReader::new(file.try_clone().map_err(io)?),
            pos: 0,
            path: path.to_path_buf(),
        };
        let version = c.u32("version")?;
        // Version 5 and 6 share this layout (6 added nothing the converter reads); older files
        // wrote data types as strings.
        if !(5..=6).contains(&version) {
            return Err(ConvertError::BadCt2 {
                path: path.to_path_buf(),
                reason: format!("binary version {version} not supported (need 5 or 6)"),
            });
        }
        let spec = c.string("spec name")?;
        let revision = c.u32("revision")?;
        let n = c.u32("variable count")?;
        let mut vars = BTreeMap::new();
        for _ in 0..n {
            let name = c.string("variable name")?;
            let rank = c.u8("rank")? as usize;
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(c.u32("dimension")? as usize);
            }
            let id = c.u8("data type")?;
            let dtype = Ct2Type::from_id(id)
                .ok_or_else(|| c.bad(&format!("unknown data type {id} for {name}")))?;
            let nbytes = c.u32("byte count")? as usize;
            let numel: usize = shape.iter().product();
            if numel * dtype.size() != nbytes {
                return Err(c.bad(&format!(
                    "{name}: {nbytes} bytes do not match shape {shape:?} of {dtype:?}"
                )));
            }
            let offset = c.pos;
            if offset + nbytes as u64 > len {
                return Err(c.bad(&format!("{name}: data runs past the end of the file")));
            }
            c.skip(nbytes as u64, "variable data")?;
            vars.insert(
                name.clone(),
                Ct2Var {
                    name,
                    shape,
                    dtype,
                    offset,
                    nbytes,
                },
            );
        }
        let mut aliases = BTreeMap::new();
        // The alias table is optional in old files: EOF here is fine.
        if c.pos < len {
            let na = c.u32("alias count")?;
            for _ in 0..na {
                let a = c.string("alias")?;
                let t = c.string("alias target")?;
                aliases.insert(a, t);
            }
        }
        Ok(Ct2Model {
            path: path.to_path_buf(),
            version,
            spec,
            revision,
            vars,
            aliases,
            file,
        })
    }

    pub fn var(&self, name: &str) -> Result<&Ct2Var, ConvertError> {
        self.vars.get(name).ok_or_else(|| ConvertError::BadCt2 {
            path: self.path.clone(),
            reason: format!("variable {name} missing"),
        })
    }

    /// Raw bytes of a variable.
    pub fn raw(&self, v: &Ct2Var) -> Result<Vec<u8>, ConvertError> {
        use std::os::unix::fs::FileExt;
        let mut b = vec![0u8; v.nbytes];
        self.file
            .read_exact_at(&mut b, v.offset)
            .map_err(|e| ConvertError::Io {
                path: self.path.clone(),
                source: e,
            })?;
        Ok(b)
    }

    /// A variable as f32, whatever its stored type. int8 weights are dequantised with their
    /// per-row `<name>_scale` (CTranslate2 stores `q = round(w * scale)`).
    pub fn f32(&self, name: &str) -> Result<Vec<f32>, ConvertError> {
        let v = self.var(name)?;
        let raw = self.raw(v)?;
        match v.dtype {
            Ct2Type::F32 => Ok(raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()),
            Ct2Type::F16 => Ok(raw
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect()),
            Ct2Type::Bf16 => Ok(raw
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect()),
            Ct2Type::I8 => {
                let scale_name = format!("{name}_scale");
                let scale = self.f32(&scale_name)?;
                let rows = v.shape.first().copied().unwrap_or(1);
                if scale.len() != rows || rows == 0 {
                    return Err(ConvertError::BadCt2 {
                        path: self.path.clone(),
                        reason: format!(
                            "{scale_name} has {} values for {rows} rows of {name}",
                            scale.len()
                        ),
                    });
                }
                let cols = v.numel() / rows;
                Ok(raw
                    .iter()
                    .enumerate()
                    .map(|(i, &q)| q as i8 as f32 / scale[i / cols])
                    .collect())
            }
            Ct2Type::I16 | Ct2Type::I32 => Err(ConvertError::BadCt2 {
                path: self.path.clone(),
                reason: format!("{name}: data type {:?} is not a float tensor", v.dtype),
            }),
        }
    }

    /// An integer scalar (e.g. `encoder/num_heads`), if present.
    pub fn scalar_int(&self, name: &str) -> Option<i64> {
        let v = self.vars.get(name)?;
        let raw = self.raw(v).ok()?;
        match v.dtype {
            Ct2Type::I8 => Some(raw[0] as i8 as i64),
            Ct2Type::I16 => Some(i16::from_le_bytes([raw[0], raw[1]]) as i64),
            Ct2Type::I32 => Some(i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as i64),
            _ => None,
        }
    }
}
