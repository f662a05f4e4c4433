#!/usr/bin/env bash
# Feeds malformed models and inputs to the real `hodu` command.  For each
# case: non-zero exit, exactly one "hodu: error:" line on stderr that names
# the cause, no crash (sanitizer builds abort on any report), and no output
# file or temporary left behind.  Errors about a node, input or initializer
# are placed at it: "<file>:node[i]: node 'n' (Op): ...", "<file>:input[i]: ...".
# usage: run.sh HODU PYTHON
set -u
hodu=$1
python=$2
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
suite_init bad_inputs "$(dirname "$0")/make_cases.py"

build() { "$hodu" --build "$c/$1" -o "$work/out/model.so"; }
# Builds cases/NAME.onnx into $work/NAME.so for run-time cases; a failure
# counts against the suite.
built() {
    "$hodu" --build "$c/$1.onnx" -o "$work/$1.so" 2>"$work/stderr" && return 0
    bad "build $1.onnx: $(head -1 "$work/stderr")"
    return 1
}

expect_error truncated "not a valid ONNX model" build truncated.onnx
expect_error random_bytes "not a valid ONNX model" build random.onnx
expect_error cycle "cycle\.onnx:node\[[0-9]*\]: node .* the graph has a cycle" build cycle.onnx
expect_error missing_initializer "missing_initializer\.onnx:node\[0\]: node 'Add_0' (Add): input 'w' is not defined" build missing_initializer.onnx
expect_error external_escape "escape.bin" build external_escape.onnx
expect_error attribute_type "attribute_type\.onnx:node\[0\]: node 'Transpose_0' (Transpose): attribute 'perm' must be of type ints" build attribute_type.onnx
expect_error short_raw_data "short_raw_data\.onnx:initializer\[0\]: tensor 'w': raw_data holds 10 bytes" build short_raw_data.onnx
expect_error linear_attention_heads "linear_attention_heads\.onnx:node\[0\]: node 'LinearAttention_0' (LinearAttention): q_num_heads (4) must be a positive multiple of kv_num_heads (3)" build linear_attention_heads.onnx
expect_error flex_score_mod_shape "flex_score_mod_shape\.onnx:node\[0\]: node 'FlexAttention_0' (FlexAttention): subgraph 'score_mod' must give f32\[1,2,3,5\]" build flex_score_mod_shape.onnx
expect_error causal_conv_kernel "causal_conv_kernel\.onnx:node\[0\]: node 'CausalConvWithState_0' (CausalConvWithState): the kernel size (weight's last dim) must be at least 1, not 0" build causal_conv_kernel.onnx
expect_error unbound_dims "unbound_dims\.onnx:input\[0\]: input 'x' has unbound dim 0 ('batch'), dim 2 ('width')" build unbound_dims.onnx
expect_error quant_block_size "quant_block_size\.onnx:node\[0\]: node 'QuantizeLinear_0' (QuantizeLinear): attribute 'block_size' must be positive, got -3" build quant_block_size.onnx
expect_error bitcast_to "bitcast_to\.onnx:node\[0\]: node 'BitCast_0' (BitCast): attribute 'to' value 1000 is not an element type" build bitcast_to.onnx
expect_error quant_int2_opset24 "quant_int2_opset24\.onnx:node\[0\]: node 'QuantizeLinear_0' (QuantizeLinear): output_dtype must be one of i8, u8, i16, u16, f8e4m3fn, f8e4m3fnuz, f8e5m2, f8e5m2fnuz, u4, i4, f4e2m1 in opset 24, got i2" build quant_int2_opset24.onnx
expect_error dequant_e8m0_no_dtype "dequant_e8m0_no_dtype\.onnx:node\[0\]: node 'DequantizeLinear_0' (DequantizeLinear): a float8e8m0 scale needs attribute 'output_dtype'" build dequant_e8m0_no_dtype.onnx
expect_error roi_align_sampling "roi_align_sampling\.onnx:node\[0\]: node 'RoiAlign_0' (RoiAlign): attribute 'sampling_ratio' value -3 must be in \[0, 1024\]" build roi_align_sampling.onnx
expect_error affine_grid_size "affine_grid_size\.onnx:node\[0\]: node 'AffineGrid_0' (AffineGrid): size value 1125899906842624 is out of range" build affine_grid_size.onnx
expect_error lstm_hidden_size "lstm_hidden_size\.onnx:node\[0\]: node 'lstm' (LSTM): hidden_size -5 is invalid" build lstm_hidden_size.onnx
expect_error reverse_sequence_axes "reverse_sequence_axes\.onnx:node\[0\]: node 'rev' (ReverseSequence): batch_axis 0 and time_axis 0 are invalid" build reverse_sequence_axes.onnx
expect_error dft_length "dft_length\.onnx:node\[0\]: node 'DFT_0' (DFT): DFT length 1099511627776 is above the supported" build dft_length.onnx
expect_error window_size "window_size\.onnx:node\[0\]: node 'HannWindow_0' (HannWindow): window size -5 is out of range" build window_size.onnx
expect_error missing_file "cannot open" build does_not_exist.onnx
expect_error einsum_equation "einsum_equation\.onnx:node\[0\]: node 'Einsum_0' (Einsum): equation: the output repeats label 'a'" build einsum_equation.onnx
expect_error lrn_size "lrn_size\.onnx:node\[0\]: node 'LRN_0' (LRN): attribute 'size' = -3 must be at least 1" build lrn_size.onnx
expect_error if_runtime_nested "if_runtime_nested\.onnx:node\[2\]: node 'inner' (If): an If over run-time dims inside a branch of another such If is not supported yet" build if_runtime_nested.onnx
expect_error unbounded_consumer "unbounded_consumer\.onnx:node\[1\]: node 'twice' (StringConcat): input 'tok' has a size that is only known when the model runs (it depends on the values of node 'split'); Hodu cannot compute on such a value (its size has no bound)" build unbounded_consumer.onnx
expect_error nonzero_in_loop "nonzero_in_loop\.onnx:node\[0\]: node 'find_in_body' (NonZero): output 'nz' has a size that is only known when the model runs and is a subgraph's result" build nonzero_in_loop.onnx
expect_error nms_iou_const "nms_iou_const\.onnx:node\[0\]: node 'NonMaxSuppression_0' (NonMaxSuppression): iou_threshold 'iou' is 2; it must lie in \[0, 1\]" build nms_iou_const.onnx
expect_error if_undefined "if_undefined\.onnx:node\[0\]: node 'Add_0' (Add): input 'nowhere' is not defined" build if_undefined.onnx
expect_error if_shapes "if_shapes\.onnx:node\[0\]: node 'pick' (If): output 0: the then branch gives f32\[2,3\] and the else branch f32\[\]" build if_shapes.onnx
expect_error loop_carried_shape "loop_carried_shape\.onnx:node\[0\]: node 'grow' (Loop): loop-carried value 0 ('x') goes in as f32\[2,3\] but the body gives f32\[4,3\]" build loop_carried_shape.onnx
expect_error grad_no_rule "grad_no_rule\.onnx:node\[0\]: node 'remainder' (Mod): cannot differentiate Mod: the op has no gradient rule" "$hodu" --build "$c/grad_no_rule.onnx" --grad -o "$work/out/model.so"
expect_error loop_if_runtime "loop_if_runtime\.onnx:node\[0\]: node 'pick' (If): If over values with run-time dims is not supported yet inside a subgraph" "$hodu" --build "$c/loop_if_runtime.onnx" --dim batch=1..4 -o "$work/out/model.so"
expect_error loop_scan_body_size "loop_scan_body_size\.onnx:node\[0\]: node 'grow' (Loop): scan output 0 ('twice') has a size the body decides (dim 0, 'batch\*2')" "$hodu" --build "$c/loop_scan_body_size.onnx" --dim batch=1..4 -o "$work/out/model.so"
expect_error grad_lstm_runtime_seq "grad_lstm_runtime_seq\.onnx:node\[0\]: node 'lstm' (LSTM): cannot differentiate LSTM: its gradient unrolls the steps, so seq_length must be known when the model is built, and X's dim 0 is the run-time dim 'T'" "$hodu" --build "$c/grad_lstm_runtime_seq.onnx" --grad --dim T=1..8 -o "$work/out/model.so"
expect_error grad_wrt_unknown "--wrt nope: the model has no input of that name" "$hodu" --build "$c/good.onnx" --grad --wrt nope -o "$work/out/model.so"
expect_error export_shape "initializer 'w': the weights file's tensor has another dtype or shape (float32, rank 2)" "$hodu" --export-onnx "$c/export_model.onnx" --weights "$c/export_shape.safetensors" -o "$work/out/model.onnx"
expect_error export_extra "export_extra.safetensors: tensor 'nope' is no initializer of the model" "$hodu" --export-onnx "$c/export_model.onnx" --weights "$c/export_extra.safetensors" -o "$work/out/model.onnx"
expect_error train_lr "--optimizer sgd:lr=0.1: the learning rate is not built in; each step takes it as its input 'lr'" "$hodu" --build "$c/export_model.onnx" --train --loss mse --optimizer sgd:lr=0.1 -o "$work/out/model.so"
expect_error train_loss "--loss hinge: unknown loss (mse, l1, cross_entropy, soft_cross_entropy, bce_logits)" "$hodu" --build "$c/export_model.onnx" --train --loss hinge -o "$work/out/model.so"
expect_error train_no_params "--train: the model has no f32 initializer to train" "$hodu" --build "$c/good.onnx" --train --loss mse -o "$work/out/model.so"
expect_error train_param_unknown "--train-param nope: the model has no initializer of that name" "$hodu" --build "$c/export_model.onnx" --train --loss mse --train-param nope -o "$work/out/model.so"
expect_error misspelt_flag "did you mean '--build'" "$hodu" --buidl "$c/good.onnx"

# Run-time input checks need a good library first.
if built good; then
    run() { "$hodu" --run "$work/good.so" --input "x=$c/$1" --output-dir "$work/out/res"; }
    expect_error wrong_shape "shape \[3,2\] but the model expects \[2,3\]" run x_shape.npy
    expect_error wrong_dtype "dtype float64 but the model expects float32" run x_dtype.npy
    if run x_good.npy >/dev/null 2>&1 && [ -f "$work/out/res/y.npy" ]; then
        ok good_run
    else
        bad "good_run: the valid model did not run"
    fi
fi
# A Reshape target shape given at run time must ask for the declared shape.
if built reshape_runtime; then
    rs() { "$hodu" --run "$work/reshape_runtime.so" --input "x=$c/x_good.npy" --input "shape=$c/$1" --output-dir "$work/rs"; }
    expect_ok reshape_runtime_good rs rs_good.npy
    expect_ok reshape_runtime_minus_one rs rs_minus_one.npy
    for v in rs_bad rs_bad_zero rs_two_minus; do
        expect_error "reshape_runtime_$v" "ask for other shapes than the model was built for" rs "$v.npy"
    done
fi
# A Loop with scan outputs must run the iterations the build fixed (4).
if built loop_scan_runtime; then
    ls_run() { "$hodu" --run "$work/loop_scan_runtime.so" --input "x=$c/x_good.npy" --input "n=$c/$1" --output-dir "$work/ls"; }
    expect_ok loop_scan_runtime_good ls_run trip_4.npy
    expect_error loop_scan_runtime_bad "ask for other shapes than the model was built for" ls_run trip_6.npy
fi
if built expand_runtime && built cos_runtime; then
    ex() { "$hodu" --run "$work/expand_runtime.so" --input "x=$c/x_good.npy" --input "shape=$c/$1" --output-dir "$work/ex"; }
    cs() { "$hodu" --run "$work/cos_runtime.so" --input "shape=$c/$1" --output-dir "$work/cs"; }
    expect_ok expand_runtime_good ex ex_good.npy
    expect_ok expand_runtime_good_full ex ex_good_full.npy
    expect_ok cos_runtime_good cs rs_good.npy
    expect_ok expand_runtime_good_ones ex ex_good_ones.npy
    for v in ex_bad ex_bad_conflict; do
        expect_error "expand_runtime_$v" "ask for other shapes than the model was built for" ex "$v.npy"
    done
    expect_error cos_runtime_bad "ask for other shapes than the model was built for" cs rs_bad.npy
fi
if built cumsum_runtime; then
    cum() { "$hodu" --run "$work/cumsum_runtime.so" --input "x=$c/x_good.npy" --input "axis=$c/$1" --output-dir "$work/cum"; }
    expect_ok cumsum_runtime_last cum cum_last.npy
    expect_ok cumsum_runtime_one cum cum_one.npy
    expect_error cumsum_runtime_bad "or for no axis" cum cum_bad.npy
fi
if built unsqueeze_runtime; then
    uq() { "$hodu" --run "$work/unsqueeze_runtime.so" --input "x=$c/x_good.npy" --input "axes=$c/$1" --output-dir "$work/uq"; }
    expect_ok unsqueeze_runtime_one uq uq_one.npy
    expect_ok unsqueeze_runtime_minus_two uq uq_minus_two.npy
    for v in uq_other uq_out; do
        expect_error "unsqueeze_runtime_$v" "ask for other shapes than the model was built for" uq "$v.npy"
    done
fi
if built tile_runtime && built split_runtime; then
    tl() { "$hodu" --run "$work/tile_runtime.so" --input "x=$c/x_good.npy" --input "reps=$c/$1" --output-dir "$work/tl"; }
    sp() { "$hodu" --run "$work/split_runtime.so" --input "x=$c/x_good.npy" --input "split=$c/$1" --output-dir "$work/sp"; }
    expect_ok tile_runtime_good tl tl_good.npy
    expect_ok split_runtime_good sp sp_good.npy
    expect_error tile_runtime_bad "ask for other shapes than the model was built for" tl tl_bad.npy
    expect_error split_runtime_bad "ask for other shapes than the model was built for" sp sp_bad.npy
fi
if built reduce_runtime; then
    rd() { "$hodu" --run "$work/reduce_runtime.so" --input "x=$c/x_good.npy" --input "axes=$c/$1" --output-dir "$work/rd"; }
    expect_ok reduce_runtime_one rd rd_one.npy
    expect_ok reduce_runtime_minus_one rd rd_minus_one.npy
    for v in rd_other rd_out; do
        expect_error "reduce_runtime_$v" "ask for other shapes than the model was built for" rd "$v.npy"
    done
fi
if built slice_runtime; then
    sl() {
        "$hodu" --run "$work/slice_runtime.so" --input "x=$c/x_good.npy" --input "starts=$c/$1" --input "ends=$c/$2" \
            --output-dir "$work/sl"
    }
    expect_ok slice_runtime_good sl sl_1.npy sl_3.npy
    expect_ok slice_runtime_negative sl sl_m2.npy sl_big.npy
    expect_error slice_runtime_wide "ask for other shapes than the model was built for" sl sl_0.npy sl_3.npy
    expect_error slice_runtime_min "ask for other shapes than the model was built for" sl sl_min.npy sl_big.npy
fi
if built range_runtime; then
    rg() {
        "$hodu" --run "$work/range_runtime.so" --input "start=$c/$1.npy" --input "limit=$c/$2.npy" --input "delta=$c/$3.npy" \
            --output-dir "$work/rg"
    }
    expect_ok range_runtime_good rg rg_0 rg_4 rg_1
    expect_ok range_runtime_step_two rg rg_0 rg_8 rg_2
    expect_error range_runtime_long "ask for other shapes than the model was built for" rg rg_0 rg_5 rg_1
    expect_error range_runtime_zero_delta "ask for other shapes than the model was built for" rg rg_0 rg_4 rg_0
    expect_error range_runtime_huge "ask for other shapes than the model was built for" rg rg_min rg_max rg_1
fi
if built pad_runtime; then
    pd() { "$hodu" --run "$work/pad_runtime.so" --input "x=$c/x_good.npy" --input "pads=$c/$1" --output-dir "$work/pd"; }
    expect_ok pad_runtime_good pd pd_good.npy
    expect_ok pad_runtime_left pd pd_left.npy
    expect_ok pad_runtime_wide timeout 20 "$hodu" --run "$work/pad_runtime.so" --input "x=$c/x_good.npy" \
        --input "pads=$c/pd_wide.npy" --output-dir "$work/pd"
    expect_error pad_runtime_bad "ask for other shapes than the model was built for" pd pd_bad.npy
    expect_error pad_runtime_huge "ask for other shapes than the model was built for" pd pd_huge.npy
fi
# TopK's K, a window's size, DFT's axis, Col2Im's shapes, MelWeightMatrix's
# operands and Dropout's ratio and training mode at run time.
bad_values="ask for other shapes than the model was built for"
if built topk_runtime; then
    tk() { "$hodu" --run "$work/topk_runtime.so" --input "x=$c/x_good.npy" --input "k=$c/$1.npy" --output-dir "$work/tk"; }
    expect_ok topk_runtime_good tk tk_2
    expect_error topk_runtime_big "$bad_values" tk tk_3
    expect_error topk_runtime_negative "$bad_values" tk tk_m1
fi
if built window_runtime; then
    wn() { "$hodu" --run "$work/window_runtime.so" --input "size=$c/$1.npy" --output-dir "$work/wn"; }
    expect_ok window_runtime_good wn wn_8
    expect_error window_runtime_long "$bad_values" wn wn_9
    expect_error window_runtime_negative "$bad_values" wn wn_m1
fi
if built dft_runtime; then
    dft() { "$hodu" --run "$work/dft_runtime.so" --input "x=$c/dft_x.npy" --input "axis=$c/$1.npy" --output-dir "$work/dft"; }
    expect_ok dft_runtime_axis0 dft dft_0
    expect_ok dft_runtime_minus_two dft dft_m2
    for v in dft_m1 dft_2 dft_min; do
        expect_error "dft_runtime_$v" "or for no axis" dft "$v"
    done
fi
if built col2im_runtime; then
    ci() {
        "$hodu" --run "$work/col2im_runtime.so" --input "cols=$c/ci_x.npy" --input "image=$c/$1.npy" \
            --input "block=$c/$2.npy" --output-dir "$work/ci"
    }
    expect_ok col2im_runtime_good ci ci_33 ci_22
    expect_error col2im_runtime_image "$bad_values" ci ci_34 ci_22
    for v in ci_41 ci_33 ci_huge ci_neg; do
        expect_error "col2im_runtime_block_$v" "$bad_values" ci ci_33 "$v"
    done
fi
if built mel_runtime; then
    mw() {
        "$hodu" --run "$work/mel_runtime.so" --input "mels=$c/mw_4.npy" --input "dft=$c/$1.npy" \
            --input "rate=$c/mw_rate.npy" --input "lo=$c/mw_lo.npy" --input "hi=$c/$2.npy" --output-dir "$work/mw"
    }
    expect_ok mel_runtime_good mw mw_8 mw_hi
    expect_error mel_runtime_dft_length "$bad_values" mw mw_10 mw_hi
    expect_error mel_runtime_nan "$bad_values" mw mw_8 mw_nan
fi
if built dropout_runtime; then
    dr() {
        "$hodu" --run "$work/dropout_runtime.so" --input "x=$c/x_good.npy" --input "r=$c/$1.npy" --input "t=$c/$2.npy" \
            --output-dir "$work/dr"
    }
    expect_ok dropout_runtime_zero dr do_0 do_on
    expect_ok dropout_runtime_off dr do_half do_off
    expect_error dropout_runtime_random "random dropout" dr do_half do_on
    expect_error dropout_runtime_ratio "$bad_values" dr do_1 do_off
fi
if built reduce_nokeep_runtime; then
    rk() { "$hodu" --run "$work/reduce_nokeep_runtime.so" --input "x=$c/rk_x.npy" --input "axes=$c/$1" --output-dir "$work/rk"; }
    for v in rk_1 rk_2 rk_m1; do
        expect_ok "reduce_nokeep_runtime_$v" rk "$v.npy"
    done
    for v in rk_0 rk_3; do
        expect_error "reduce_nokeep_runtime_$v" "ask for other shapes than the model was built for" rk "$v.npy"
    done
fi
if built resize_scales_runtime; then
    rz() { "$hodu" --run "$work/resize_scales_runtime.so" --input "x=$c/rz_x.npy" --input "scales=$c/$1" --output-dir "$work/rz"; }
    expect_ok resize_scales_runtime_2 rz rz_2.npy
    expect_ok resize_scales_runtime_24 rz rz_24.npy
    for v in rz_3 rz_nan rz_inf rz_neg rz_tiny; do
        expect_error "resize_scales_runtime_$v" "ask for other shapes than the model was built for" rz "$v.npy"
    done
fi
if built resize_roi_runtime; then
    rr() { "$hodu" --run "$work/resize_roi_runtime.so" --input "x=$c/rr_x.npy" --input "roi=$c/$1" --output-dir "$work/rr"; }
    expect_ok resize_roi_runtime_good rr rr_good.npy
    expect_ok resize_roi_runtime_huge rr rr_huge.npy
    expect_error resize_roi_runtime_nan "ask for other shapes than the model was built for" rr rr_nan.npy
fi
if built resize_aspect_runtime; then
    ra() { "$hodu" --run "$work/resize_aspect_runtime.so" --input "x=$c/ra_x.npy" --input "sizes=$c/$1" --output-dir "$work/ra"; }
    expect_ok resize_aspect_runtime_good ra ra_good.npy
    for v in ra_big ra_neg; do
        expect_error "resize_aspect_runtime_$v" "ask for other shapes than the model was built for" ra "$v.npy"
    done
fi
if built pad_axes_runtime; then
    pa() { "$hodu" --run "$work/pad_axes_runtime.so" --input "x=$c/x_good.npy" --input "axes=$c/$1" --output-dir "$work/pa"; }
    expect_ok pad_axes_runtime_1 pa pa_1.npy
    expect_ok pad_axes_runtime_m1 pa pa_m1.npy
    for v in pa_0 pa_2; do
        expect_error "pad_axes_runtime_$v" "ask for other shapes than the model was built for" pa "$v.npy"
    done
fi
# Hostile write indices (INT64_MAX, INT64_MIN) at run time: no crash, no
# stray write (the sanitizer build aborts on one).
if built tscatter; then
    expect_ok tscatter_hostile_indices "$hodu" --run "$work/tscatter.so" --input "past=$c/ts_past.npy" \
        --input "upd=$c/ts_upd.npy" --input "w=$c/ts_w.npy" --output-dir "$work/ts"
fi
if built int_overflow; then
    expect_ok int_sums_overflow_nan_scale "$hodu" --run "$work/int_overflow.so" --input "a=$c/qa.npy" \
        --input "b=$c/qb.npy" --input "s=$c/qs_nan.npy" --output-dir "$work/io"
fi
# NonMaxSuppression's iou_threshold given at run time must lie in [0, 1].
if built nms_iou_runtime; then
    nm() {
        "$hodu" --run "$work/nms_iou_runtime.so" --input "boxes=$c/nms_boxes.npy" --input "scores=$c/nms_scores.npy" \
            --input "iou=$c/$1" --output-dir "$work/nm"
    }
    expect_ok nms_iou_runtime_good nm nms_iou_good.npy
    expect_error nms_iou_runtime_bad "lie outside the range the op allows" nm nms_iou_bad.npy
    expect_error nms_iou_runtime_nan "lie outside the range the op allows" nm nms_iou_nan.npy
fi
# Multinomial's log-probabilities at run time must define a distribution.
if built multinomial_runtime; then
    mn() { "$hodu" --run "$work/multinomial_runtime.so" --input "x=$c/$1" --output-dir "$work/mn"; }
    expect_ok multinomial_runtime_good mn mn_good.npy
    for v in mn_nan mn_inf mn_none; do
        expect_error "multinomial_runtime_$v" "lie outside the range the op allows" mn "$v.npy"
    done
fi
expect_error multinomial_sample_size "multinomial_sample_size\.onnx:node\[0\]: node 'Multinomial_0' (Multinomial): attribute 'sample_size' must be at least 1, is 0" build multinomial_sample_size.onnx
expect_error random_uniform_dtype "random_uniform_dtype\.onnx:node\[0\]: node 'RandomUniform_0' (RandomUniform): output type i32 is not float16, bfloat16, float or double" build random_uniform_dtype.onnx
# Strings: a pattern regcomp refuses, RE2 syntax POSIX lacks, an op that
# takes no strings; at run time, .npy strings that are no Unicode text.
expect_error regex_bad "regex_bad\.onnx:node\[0\]: node 're' (RegexFullMatch): attribute 'pattern' is not a regular expression POSIX regcomp accepts" build regex_bad.onnx
expect_error regex_re2 "regex_re2\.onnx:node\[0\]: node 're' (RegexFullMatch): attribute 'pattern': (?...) groups and flags are not supported" build regex_re2.onnx
expect_error string_identity "string_identity\.onnx:node\[0\]: node 'id' (Identity): input 'x' holds strings; Identity does not take them" build string_identity.onnx
if built string_concat; then
    sc() { "$hodu" --run "$work/string_concat.so" --input "x=$c/$1" --output-dir "$work/sc"; }
    expect_ok string_concat_good sc str_good.npy
    expect_error string_surrogate "npy string element 1 holds code unit 0xD800 at 0, which is no Unicode character" sc str_surrogate.npy
    expect_error string_too_big "npy string element 1 holds code unit 0x110000 at 0, which is no Unicode character" sc str_too_big.npy
    expect_error string_short "needs 16 data bytes but the file has 12" sc str_short.npy
fi
# ImageDecoder: images cut short (each format family) and bytes that are
# no image at run time give the node's check with the decoder's reason.
if built image_decoder; then
    img() { "$hodu" --run "$work/image_decoder.so" --input "b=$c/$1" --output-dir "$work/img"; }
    expect_ok image_good img img_good.npy
    dec="node 'dec' (ImageDecoder): the image could not be decoded"
    expect_error image_jpeg_cut "$dec: JPEG: Premature end of JPEG file" img img_jpeg_cut.npy
    expect_error image_png_cut "$dec: PNG: " img img_png_cut.npy
    expect_error image_webp_cut "$dec: WebP: " img img_webp_cut.npy
    expect_error image_tiff_cut "$dec: TIFF: " img img_tiff_cut.npy
    expect_error image_jpeg2000_cut "$dec: JPEG 2000: " img img_jpeg2000_cut.npy
    expect_error image_bmp_cut "$dec: BMP: the data ends early" img img_bmp_cut.npy
    expect_error image_unknown "$dec: the bytes start as no image format this decoder reads" img img_unknown.npy
fi
suite_end
