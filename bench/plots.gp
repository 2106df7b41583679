# Bar charts of results/plot-WORKLOAD.dat ("tool" ms median), one PNG each.
set terminal pngcairo size 900,400 noenhanced
set style fill solid 0.6
set boxwidth 0.6
set ylabel "ms (median)"
set grid ytics
set yrange [0:*]
do for [wl in "chain-200 fan-1000 start-1"] {
  set output sprintf("%s.png", wl)
  set title wl
  plot sprintf("plot-%s.dat", wl) using 0:2:xtic(1) with boxes notitle
}
