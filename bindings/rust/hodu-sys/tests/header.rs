//! The hand-written declarations against include/hodu_rt.h: the C compiler
//! checks every struct's size, alignment and field offsets and every
//! constant as Rust sees them, and every function the header declares must
//! be declared in src/lib.rs (and the other way round).
#![warn(clippy::undocumented_unsafe_blocks)]

use hodu_sys::*;
use std::fmt::Write as _;
use std::mem::{align_of, offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// `_Static_assert`s for a struct's size, alignment and each field's offset.
macro_rules! layout {
    ($c:expr, $ty:ident { $($field:ident $(=> $cfield:ident)?),* $(,)? }) => {{
        let c: &mut String = $c;
        let name = stringify!($ty);
        writeln!(c, "_Static_assert(sizeof({name}) == {}, \"sizeof {name}\");", size_of::<$ty>()).unwrap();
        writeln!(c, "_Static_assert(_Alignof({name}) == {}, \"alignof {name}\");", align_of::<$ty>()).unwrap();
        $(
            let cfield = layout!(@name $field $(, $cfield)?);
            writeln!(c, "_Static_assert(offsetof({name}, {cfield}) == {}, \"{name}.{cfield}\");",
                     offset_of!($ty, $field)).unwrap();
            writeln!(c, "_Static_assert(sizeof((({name} *)0)->{cfield}) == {}, \"size of {name}.{cfield}\");",
                     field_size(|v: &$ty| &v.$field)).unwrap();
        )*
    }};
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident, $cfield:ident) => { stringify!($cfield) };
}

fn field_size<S, F>(_: impl Fn(&S) -> &F) -> usize {
    size_of::<F>()
}

macro_rules! consts {
    ($c:expr, $($name:ident),* $(,)?) => {{
        let c: &mut String = $c;
        $( writeln!(c, "_Static_assert({} == {}, \"{}\");", stringify!($name), $name as i128, stringify!($name)).unwrap(); )*
    }};
}

#[test]
fn layouts_and_constants_match_the_header() {
    let mut c = String::from("#include <stddef.h>\n#include \"hodu_rt.h\"\n");
    layout!(&mut c, hodu_string { data, size });
    layout!(&mut c, hodu_tensor_desc { name, dtype, rank, dims, min_dims, dim_names });
    layout!(
        &mut c,
        hodu_exec {
            n_workers,
            pool,
            parallel_for,
            alloc_ctx,
            alloc,
            decode_ctx,
            decode_image,
            profile_ctx,
            profile_step
        }
    );
    layout!(&mut c, hodu_step_desc { node, op, flops });
    layout!(&mut c, hodu_value_desc { name, kind, present, first, count });
    layout!(
        &mut c,
        hodu_model_desc {
            abi_version,
            desc_size,
            model_name,
            producer,
            n_inputs,
            n_outputs,
            inputs,
            outputs,
            workspace_bytes,
            worker_bytes,
            run,
            n_checks,
            checks,
            n_steps,
            steps,
            state_next,
            initial,
            n_input_values,
            n_output_values,
            input_values,
            output_values
        }
    );
    layout!(&mut c, hodu_error { code, message });
    layout!(&mut c, hodu_tensor { dtype, rank, dims, data, nbytes });
    layout!(&mut c, hodu_instance_options { n_threads, exec, workspace, workspace_bytes, arena, arena_bytes });
    layout!(&mut c, hodu_profile_entry { node, op, flops, runs, total_ns });
    layout!(&mut c, hodu_package_options { flags, public_key });
    writeln!(
        c,
        "_Static_assert(sizeof(hodu_package_signature) == {}, \"hodu_package_signature\");",
        size_of::<hodu_package_signature>()
    )
    .unwrap();
    writeln!(c, "_Static_assert(sizeof(hodu_status) == {}, \"hodu_status\");", size_of::<hodu_status>()).unwrap();
    writeln!(c, "_Static_assert(sizeof(hodu_dtype) == {}, \"hodu_dtype\");", size_of::<hodu_dtype>()).unwrap();
    writeln!(c, "_Static_assert(sizeof(long) == {}, \"long\");", size_of::<core::ffi::c_long>()).unwrap();
    consts!(
        &mut c,
        HODU_ABI_VERSION,
        HODU_ABI_ALIGN,
        HODU_MAX_RANK,
        HODU_RUN_INPUT_VALUES,
        HODU_PIXEL_RGB,
        HODU_PIXEL_BGR,
        HODU_PIXEL_GRAY,
        HODU_IMAGE_MAX_PIXELS,
        HODU_VALUE_SEQUENCE,
        HODU_VALUE_OPTIONAL,
        HODU_VALUE_OPTIONAL_SEQUENCE,
        HODU_DTYPE_UNDEFINED,
        HODU_DTYPE_F32,
        HODU_DTYPE_U8,
        HODU_DTYPE_I8,
        HODU_DTYPE_U16,
        HODU_DTYPE_I16,
        HODU_DTYPE_I32,
        HODU_DTYPE_I64,
        HODU_DTYPE_STRING,
        HODU_DTYPE_BOOL,
        HODU_DTYPE_F16,
        HODU_DTYPE_F64,
        HODU_DTYPE_U32,
        HODU_DTYPE_U64,
        HODU_DTYPE_BF16,
        HODU_DTYPE_F8E4M3FN,
        HODU_DTYPE_F8E4M3FNUZ,
        HODU_DTYPE_F8E5M2,
        HODU_DTYPE_F8E5M2FNUZ,
        HODU_DTYPE_U4,
        HODU_DTYPE_I4,
        HODU_DTYPE_F4E2M1,
        HODU_DTYPE_F8E8M0,
        HODU_DTYPE_U2,
        HODU_DTYPE_I2,
        HODU_DTYPE_COUNT_,
        HODU_OK,
        HODU_ERR_INVALID_ARG,
        HODU_ERR_IO,
        HODU_ERR_FORMAT,
        HODU_ERR_ABI,
        HODU_ERR_COUNT,
        HODU_ERR_DTYPE,
        HODU_ERR_SHAPE,
        HODU_ERR_NOMEM,
        HODU_ERR_UNSUPPORTED,
        HODU_PACKAGE_REQUIRE_SIGNATURE,
        HODU_PACKAGE_PUBLIC_KEY_BYTES,
        HODU_PACKAGE_UNSIGNED,
        HODU_PACKAGE_SIGNED_UNVERIFIED,
        HODU_PACKAGE_SIGNED_VERIFIED
    );
    writeln!(c, "static const char entry[] = HODU_MODEL_ENTRY;").unwrap();
    writeln!(c, "_Static_assert(sizeof entry == {}, \"entry\");", HODU_MODEL_ENTRY.len() + 1).unwrap();

    compile_checks("hodu_sys_layout.c", &c);
}

/// Compiles the `_Static_assert`s in `c` with the C compiler; fails with
/// its messages when one does not hold.
fn compile_checks(name: &str, c: &str) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.join(name);
    std::fs::write(&file, c).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=c11", "-fsyntax-only", "-Werror", "-I"])
        .arg(repo().join("include"))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(out.status.success(), "the C compiler disagrees with hodu-sys:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// Drops /* */ and // comments and preprocessor lines.
fn strip_c(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("*/").expect("unterminated comment") + i + 2;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.split("//").next().unwrap())
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Names of the functions a header declares: in every top-level statement
/// that is no typedef, the identifier before the first '('.
fn declared_functions(header: &str) -> Vec<String> {
    let code = strip_c(header).replace("extern \"C\" {", "");
    let mut names = Vec::new();
    let mut depth = 0;
    let mut stmt = String::new();
    for ch in code.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if ch == ';' && depth == 0 {
            let s = stmt.trim().to_string();
            stmt.clear();
            if s.starts_with("typedef") || !s.contains('(') {
                continue;
            }
            let head = s[..s.find('(').unwrap()].trim_end();
            let name: String = head
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            names.push(name);
        } else if depth == 0 && ch != '}' {
            stmt.push(ch);
        } else if ch == '}' && depth == 0 {
            stmt.clear(); // the end of a struct typedef's body or extern "C"
        }
    }
    names
}

#[test]
fn every_header_function_is_declared() {
    same_functions("hodu_rt.h", include_str!("../src/lib.rs"), 40);
}

/// Every function `header` declares is a `pub fn` of `rust`, and the other
/// way round; the parse must find more than `least`.
fn same_functions(header: &str, rust: &str, least: usize) {
    let header = std::fs::read_to_string(repo().join("include").join(header)).unwrap();
    let c_names = declared_functions(&header);
    assert!(c_names.len() > least, "the header parse found only {c_names:?}");
    let rust_names: Vec<&str> = rust
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("pub fn "))
        .map(|l| l.split('(').next().unwrap())
        .collect();
    let missing: Vec<&String> = c_names.iter().filter(|n| !rust_names.contains(&n.as_str())).collect();
    assert!(missing.is_empty(), "declared in the header, not in hodu-sys: {missing:?}");
    let extra: Vec<&&str> = rust_names.iter().filter(|n| !c_names.iter().any(|c| c == **n)).collect();
    assert!(extra.is_empty(), "declared in hodu-sys, not in the header: {extra:?}");
}

#[test]
fn the_library_links_and_answers() {
    // SAFETY: both take any value and return static strings.
    let name = unsafe { std::ffi::CStr::from_ptr(hodu_dtype_name(HODU_DTYPE_F32)) };
    assert_eq!(name.to_str().unwrap(), "float32");
    // SAFETY: as above.
    let ok = unsafe { std::ffi::CStr::from_ptr(hodu_status_string(HODU_OK)) };
    assert!(!ok.to_bytes().is_empty());
    // SAFETY: plain arithmetic on two dims we own.
    assert_eq!(unsafe { hodu_shape_numel(2, [3i64, 4].as_ptr()) }, 12);
}

/// hodu.h (the `compiler` feature): its structs, constants and functions.
#[cfg(feature = "compiler")]
#[test]
fn compiler_layouts_and_constants_match_hodu_h() {
    let mut c = String::from("#include <stddef.h>\n#include \"hodu.h\"\n");
    layout!(
        &mut c,
        hodu_build_options {
            input_path,
            output_path,
            emit_c_dir,
            backend,
            cc,
            cflags,
            opt_level,
            graph_opt,
            march,
            target,
            keep_denormals,
            conv_layout,
            header_path,
            header_prefix,
            input_shapes,
            n_input_shapes,
            dims,
            n_dims,
            const_inputs,
            n_const_inputs,
            gradients,
            wrt,
            n_wrt,
            train_loss,
            train,
            train_optimizer,
            train_clip_norm,
            train_params,
            n_train_params,
            train_recompute,
            train_eval,
            dump_ir,
            weights,
            seed,
            verbose,
            message,
            user
        }
    );
    layout!(&mut c, hodu_dim { size, name });
    layout!(&mut c, hodu_attr { name, kind, i, f, s, ints, floats, strings, n });
    writeln!(c, "_Static_assert(sizeof(hodu_value) == {}, \"hodu_value\");", size_of::<hodu_value>()).unwrap();
    writeln!(c, "_Static_assert(sizeof(hodu_attr_kind) == {}, \"hodu_attr_kind\");", size_of::<hodu_attr_kind>())
        .unwrap();
    consts!(
        &mut c,
        HODU_NO_VALUE,
        HODU_ATTR_INT,
        HODU_ATTR_FLOAT,
        HODU_ATTR_STRING,
        HODU_ATTR_INTS,
        HODU_ATTR_FLOATS,
        HODU_ATTR_STRINGS
    );
    compile_checks("hodu_sys_compiler_layout.c", &c);
}

#[cfg(feature = "compiler")]
#[test]
fn every_hodu_h_function_is_declared() {
    same_functions("hodu.h", include_str!("../src/compiler.rs"), 30);
}

#[cfg(feature = "compiler")]
#[test]
fn the_compiler_links_and_answers() {
    // SAFETY: returns a static NUL-terminated string.
    let v = unsafe { std::ffi::CStr::from_ptr(hodu_version()) };
    assert!(!v.to_bytes().is_empty());
    let mut g = std::ptr::null_mut();
    let mut err = hodu_error { code: HODU_OK, message: [0; 512] };
    // SAFETY: the name is NUL-terminated; g and err are valid for writes.
    let status = unsafe { hodu_graph_new(c"t".as_ptr(), 0, &mut g, &mut err) };
    assert_eq!(status, HODU_OK);
    let mut v = HODU_NO_VALUE;
    // SAFETY: g is a live graph; a relu of no value is an error the
    // library reports, and v is valid for writes.
    let status = unsafe { hodu_graph_relu(g, 5, &mut v) };
    assert_ne!(status, HODU_OK);
    // SAFETY: g is live; the message is valid until the next call on g.
    let msg = unsafe { std::ffi::CStr::from_ptr(hodu_graph_error(g)) }.to_string_lossy().into_owned();
    assert!(msg.contains("hodu_graph_relu"), "{msg}");
    // SAFETY: g came from hodu_graph_new and is freed once.
    unsafe { hodu_graph_free(g) };
}
