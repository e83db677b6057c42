# metg_plot.gp: efficiency against task granularity from raympi-metg's --data
# table (columns: system granularity_us efficiency flops iterations), both
# systems, log x axis (coarse tasks on the left, as the sweep runs), the 50 %
# line whose crossing is METG(50%).
#
#   mpirun -n 3 raympi-metg --data metg.dat
#   gnuplot -e "data='metg.dat'; out='metg.png'" examples/bench/metg_plot.gp
#
# Optional: title='...' (default: "raympi vs MPI: Task Bench stencil_1d").

if (!exists("data")) data = 'metg.dat'
if (!exists("out")) out = 'metg.png'
if (!exists("title")) title = 'raympi vs MPI: Task Bench stencil\_1d'

set terminal pngcairo size 900,560 font ',11'
set output out
set title title
# Coarse on the left: the x range runs from the largest granularity down, with
# a margin of a factor 2 at both ends.
stats data using 2 nooutput
set logscale x 10
set xrange [STATS_max * 2 : STATS_min / 2]
set format x '10^{%L}'
set xlabel 'task granularity (µs) = wall time × cores / tasks'
set ylabel 'efficiency (% of the peak FLOP/s of MPI)'
set yrange [0:*]
set grid xtics ytics mxtics
set key top right box opaque

is(name) = (strcol(1) eq name)
plot data using (is('raympi') ? $2 : NaN):($3 * 100) with linespoints lw 2 pt 7 ps 0.8 title 'raympi', \
     data using (is('mpi') ? $2 : NaN):($3 * 100) with linespoints lw 2 pt 5 ps 0.8 title 'MPI (Isend/Irecv)', \
     50 with lines dt 2 lw 1.5 lc rgb 'gray40' title '50 % (METG)'
