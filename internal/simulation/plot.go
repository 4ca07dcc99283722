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
	if err := bars(filepath.Join(dir, "holders_by_age.png"), "Honest holders per block by depth (end of run)",
		"mean holders", ageNames, results, func(r Result) plotter.Values {
			v := make(plotter.Values, len(r.ByAge))
			for i, a := range r.ByAge {
				v[i] = a.MeanHolders
			}
			return v
		}); err != nil {
		return err
	}
	roleNames := make([]string, roles)
	for r := range roles {
		roleNames[r] = r.String()
	}
	return bars(filepath.Join(dir, "roles.png"), "Share of requests for old blocks answered, by who asked",
		"share answered", roleNames, results, func(r Result) plotter.Values {
			v := make(plotter.Values, len(r.Roles))
			for i, o := range r.Roles {
				v[i] = ratio(o.Got, o.Asked)
			}
			return v
		})
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
