" Vim syntax file for HoduScript (docs/hoduscript.md).
" Install: copy editors/vim/syntax and editors/vim/ftdetect into ~/.vim/
if exists("b:current_syntax")
  finish
endif

syn keyword hoduKeyword module fn param let return for in if else import export train with
syn keyword hoduOperatorWord and or not
syn keyword hoduBoolean true false
syn keyword hoduType int float bool f32 f64 f16 bf16 i8 i16 i32 i64 u8
syn keyword hoduBuiltin relu sigmoid tanh exp log sqrt rsqrt abs erf gelu softmax log_softmax
syn keyword hoduBuiltin layer_norm transpose reshape flatten concat matmul sum mean gather conv2d
syn keyword hoduBuiltin max_pool2d avg_pool2d dropout len cast causal_mask positions assert
syn keyword hoduInit zeros ones uniform normal
syn match hoduNumber "\<\d\+\(\.\d\+\)\=\([eE][-+]\=\d\+\)\=\>"
syn region hoduString start=+"+ end=+"+ oneline
syn match hoduComment "#.*$" contains=@Spell
syn match hoduFunction "\<fn\s\+\zs\h\w*"
syn match hoduModule "\<module\s\+\zs\h\w*"

hi def link hoduKeyword Keyword
hi def link hoduOperatorWord Operator
hi def link hoduBoolean Boolean
hi def link hoduType Type
hi def link hoduBuiltin Function
hi def link hoduInit Function
hi def link hoduNumber Number
hi def link hoduString String
hi def link hoduComment Comment
hi def link hoduFunction Function
hi def link hoduModule Structure

let b:current_syntax = "hodu"
