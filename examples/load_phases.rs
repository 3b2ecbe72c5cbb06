//! Where model load time goes (native): ONNX parse, type analysis, declutter, optimize, plan;
//! and the NNEF round trip of the decluttered model, which is what a cache of loaded models
//! could store (tract cannot serialize an optimized plan), with the optimize it still needs:
//! tract's whole `into_optimized` (declutter again, then codegen) and its codegen alone.
//!   cargo run --release --example load_phases -- model.onnx[=1x3x224x224] ...
//! The input shape defaults to 1x3x224x224 (NCHW); an NHWC model says e.g. `=1x224x224x3`.
use std::time::Instant;
use tract_onnx::prelude::*;

fn main() -> TractResult<()> {
    for arg in std::env::args().skip(1) {
        let (path, shape) = arg.split_once('=').unwrap_or((&arg, "1x3x224x224"));
        let shape: Vec<usize> = shape.split('x').map(str::parse).collect::<Result<_, _>>()?;
        let bytes = std::fs::read(path)?;
        let onnx = tract_onnx::onnx();
        let t = Instant::now();
        let mut m = onnx.model_for_read(&mut std::io::Cursor::new(&bytes))?;
        let t_parse = t.elapsed();
        m.set_input_fact(0, f32::fact(&shape).into())?;
        let t = Instant::now();
        let typed = m.into_typed()?;
        let t_typed = t.elapsed();
        let t = Instant::now();
        let decl = typed.into_decluttered()?;
        let t_decl = t.elapsed();
        let t = Instant::now();
        let opt = decl.clone().into_optimized()?;
        let t_opt = t.elapsed();
        let t = Instant::now();
        let _plan = opt.into_runnable()?;
        let t_plan = t.elapsed();
        let nnef = tract_nnef::nnef();
        let nnef = tract_onnx::WithOnnx::with_onnx(nnef);
        let t = Instant::now();
        let mut tar = vec![];
        nnef.write_to_tar(&decl, &mut tar)?;
        let t_write = t.elapsed();
        let t = Instant::now();
        let back = nnef.model_for_read(&mut std::io::Cursor::new(&tar))?;
        let t_read = t.elapsed();
        // the copy for the second measurement is made outside both timers
        let copy = back.clone();
        let t = Instant::now();
        let _o = copy.into_optimized()?;
        let t_opt2 = t.elapsed();
        let t = Instant::now();
        let mut o = back;
        o.optimize()?;
        let t_codegen = t.elapsed();
        println!(
            "{path}: parse {:?} typed {:?} declutter {:?} optimize {:?} plan {:?} | nnef {} B write {:?} read {:?} optimize {:?} (codegen only {:?})",
            t_parse, t_typed, t_decl, t_opt, t_plan, tar.len(), t_write, t_read, t_opt2, t_codegen
        );
    }
    Ok(())
}
