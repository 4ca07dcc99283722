package simulation

import (
	"fmt"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// WritePlots draws the results into dir as PNGs: retrievable.png (old
// blocks retrievable over time), holders_by_age.png (holders per block by
// age at the end), archival_load.png (the archival peers' share of the
// load over time) and roles.png (the share of requests each kind of peer
// got answered).
func WritePlots(dir string, results []Result) error {
	series := func(get func(Sample) float64) func(Result) plotter.XYs {
		return func(r Result) plotter.XYs {
			xy := make(plotter.XYs, len(r.Samples))
			for i, s := range r.Samples {
				xy[i] = plotter.XY{X: float64(s.Step), Y: get(s)}
			}
			return xy
		}
	}
	if err := lines(filepath.Join(dir, "retrievable.png"), "Old blocks retrievable (an honest holder online)",
		"share of blocks ≥128 deep", results, series(func(s Sample) float64 { return s.Retrievable })); err != nil {
		return err
	}
	if err := lines(filepath.Join(dir, "archival_load.png"), "Share of served requests the archival peers served",
		"share of requests", results, series(func(s Sample) float64 { return s.ArchivalLoad })); err != nil {
		return err
	}
	var ageNames []string
	if len(results) > 0 {
		for _, a := range results[0].ByAge {
			ageNames = append(ageNames, a.Name)
		}
	}
	if err := byAgePlot(filepath.Join(dir, "holders_by_age.png"), ageNames, results); err != nil {
		return err
	}
	var roleNames []string
	for r := range roles {
		if r != Archival { // archival peers only serve
			roleNames = append(roleNames, r.String())
		}
	}
	return bars(filepath.Join(dir, "roles.png"), "Share of requests for old blocks answered, by who asked",
		"share answered", roleNames, results, func(r Result) plotter.Values {
			var v plotter.Values
			for _, o := range r.Roles {
				if o.Role != Archival {
					v = append(v, ratio(o.Got, o.Asked))
				}
			}
			return v
		})
}

// byAgePlot draws the honest holders per block by depth, a line per
// regime, on a log scale (0 is drawn at 0.01).
func byAgePlot(path string, names []string, results []Result) error {
	p := plot.New()
	p.Title.Text, p.Y.Label.Text, p.X.Label.Text = "Honest holders per block by depth (end of run)", "mean holders (log)", "depth (blocks below the tip)"
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	for i, r := range results {
		var xy plotter.XYs
		for j, a := range r.ByAge {
			if a.Blocks > 0 { // a chain shorter than the bucket's depths
				xy = append(xy, plotter.XY{X: float64(j), Y: max(a.MeanHolders, 0.01)})
			}
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return fmt.Errorf("simulation: plot %s: %w", path, err)
		}
		l.Color, pts.Color, pts.Shape = plotutil.Color(i), plotutil.Color(i), plotutil.Shape(i)
		l.Dashes = plotutil.Dashes(i)
		p.Add(l, pts)
		p.Legend.Add(r.Regime.String(), l, pts)
	}
	p.NominalX(names...)
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return save(p, path)
}

// lines draws one line per regime.
func lines(path, title, ylabel string, results []Result, xy func(Result) plotter.XYs) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, "step (block)", ylabel
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top = false
	for i, r := range results {
		l, err := plotter.NewLine(xy(r))
		if err != nil {
			return fmt.Errorf("simulation: plot %s: %w", path, err)
		}
		l.Color, l.Width = plotutil.Color(i), vg.Points(1.5)
		l.Dashes = plotutil.Dashes(i)
		p.Add(l)
		p.Legend.Add(r.Regime.String(), l)
	}
	p.Add(plotter.NewGrid())
	return save(p, path)
}

// bars draws one group of bars per category, a bar per regime.
func bars(path, title, ylabel string, names []string, results []Result, values func(Result) plotter.Values) error {
	p := plot.New()
	p.Title.Text, p.Y.Label.Text = title, ylabel
	w := vg.Points(14)
	for i, r := range results {
		b, err := plotter.NewBarChart(values(r), w)
		if err != nil {
			return fmt.Errorf("simulation: plot %s: %w", path, err)
		}
		b.Color, b.LineStyle.Width = plotutil.Color(i), 0
		b.Offset = w * vg.Length(i-len(results)/2)
		p.Add(b)
		p.Legend.Add(r.Regime.String(), b)
	}
	p.Legend.Top = true
	p.Y.Min, p.Y.Max = 0, 1.3 // shares, with room for the legend
	p.NominalX(names...)
	p.Add(plotter.NewGrid())
	return save(p, path)
}

func save(p *plot.Plot, path string) error {
	if err := p.Save(8*vg.Inch, 4.5*vg.Inch, path); err != nil {
		return fmt.Errorf("simulation: saving %s: %w", path, err)
	}
	return nil
}
