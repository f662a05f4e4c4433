" HoduScript files (docs/hoduscript.md)
autocmd BufRead,BufNewFile *.hodu setfiletype hodu
