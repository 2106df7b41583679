# orch_embed_hex(FILE OUT_BODY OUT_LEN): FILE's bytes as C initializer text
# ("0x2f,0x2a,...", twelve a line) and their count, for embed.cmake and
# embed_dir.cmake, which write them into generated C files.
function(orch_embed_hex file out_body out_len)
  file(READ "${file}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
  string(LENGTH "${hex}" n)
  math(EXPR n "${n} / 2")
  set(${out_body} "${body}" PARENT_SCOPE)
  set(${out_len} "${n}" PARENT_SCOPE)
endfunction()
