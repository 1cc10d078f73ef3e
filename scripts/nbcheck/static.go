package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A chart position is where a page shows a chart: each div.alignlab-chart
// (a chart carrying its static image, plots.Chart.Block), and each chart of
// the old kind, which has no static image — an element the page's scripts
// initialise with echarts.init, or one ECharts already owns — so that a
// page of today's outputs counts its charts as positions without an image.

// positionsJS defines nbcheckPositions(root, ids): the chart positions
// under root, with the static images each holds; ids are the chart IDs the
// page's scripts initialise.
const positionsJS = `
function nbcheckPositions(root, ids) {
  function visible(el) {
    if (el.checkVisibility && !el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) { return false; }
    var r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }
  function box(el) {
    var r = el.getBoundingClientRect();
    return {x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height};
  }
  function images(el) {
    var out = [];
    var list = el.querySelectorAll('img.alignlab-static');
    for (var i = 0; i < list.length; i++) {
      var im = list[i];
      window.__nbcheckImages = window.__nbcheckImages || [];
      window.__nbcheckImages.push(im);
      out.push({index: window.__nbcheckImages.length - 1, src: im.getAttribute('src') || '', alt: im.getAttribute('alt') || '', complete: im.complete,
                naturalWidth: im.naturalWidth, naturalHeight: im.naturalHeight, visible: visible(im), box: box(im)});
    }
    return out;
  }
  var out = [], covered = {};
  var blocks = root.querySelectorAll('div.alignlab-chart');
  for (var i = 0; i < blocks.length; i++) {
    var el = blocks[i];
    var id = el.getAttribute('data-chart-id') || el.id || '';
    if (id) { covered[id] = true; }
    var inner = el.querySelectorAll('[id]');
    for (var k = 0; k < inner.length; k++) { covered[inner[k].id] = true; }
    out.push({kind: 'static', id: id, found: true, box: box(el), images: images(el)});
  }
  for (var i = 0; i < ids.length; i++) {
    if (covered[ids[i]]) { continue; }
    covered[ids[i]] = true;
    var el = document.getElementById(ids[i]);
    if (el && !root.contains(el)) { continue; }
    out.push({kind: 'echarts', id: ids[i], found: !!el, box: el ? box(el) : null, images: el ? images(el) : []});
  }
  var owned = root.querySelectorAll('[_echarts_instance_]');
  for (var i = 0; i < owned.length; i++) {
    var el = owned[i];
    if (el.closest('div.alignlab-chart') || (el.id && covered[el.id])) { continue; }
    out.push({kind: 'echarts', id: el.id || '(no id)', found: true, box: box(el), images: images(el)});
  }
  return out;
}
`

// staticImage is one img.alignlab-static as the browser has it, and what
// the checks found in it.
type staticImage struct {
	Index         int    `json:"index"` // in window.__nbcheckImages, to find it again
	Src           string `json:"src"`
	Alt           string `json:"alt"`
	Complete      bool   `json:"complete"`
	NaturalWidth  int    `json:"naturalWidth"`
	NaturalHeight int    `json:"naturalHeight"`
	Visible       bool   `json:"visible"`
	Box           rect   `json:"box"`

	Media    string   // the data: URI's media type
	Stats    svgStats // for an SVG
	Problem  string   // why the image cannot be read, if it cannot
	Inked    int      // pixels that are not background, in the browser's picture of the image
	Pixels   int      // pixels of that picture
	Captured bool     // whether the picture was taken
	// CaptureErr says why no picture was taken of a visible image.
	CaptureErr string
}

// inspect decodes the image's data: URI and counts what its SVG draws.
func (im *staticImage) inspect() {
	media, data, err := dataURI(im.Src)
	im.Media = media
	if err != nil {
		im.Problem = err.Error()
		return
	}
	switch media {
	case "image/svg+xml":
		st, err := countSVG(data)
		im.Stats = st
		if err != nil {
			im.Problem = "its SVG: " + err.Error()
		}
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		// A raster image: only the pixels tell.
	default:
		im.Problem = fmt.Sprintf("data: URI of type %q, not an image", media)
	}
}

// Shows reports whether the image shows a chart, and if not, why not.
func (im *staticImage) Shows() (bool, string) {
	switch {
	case im.Problem != "":
		return false, im.Problem
	case !im.Complete || im.NaturalWidth == 0:
		return false, "the browser could not decode it (broken image)"
	case !im.Visible:
		return false, "it is not visible (display:none, visibility:hidden, opacity 0 or no size)"
	case im.Box.W < minImageWidth || im.Box.H < minImageHeight:
		return false, fmt.Sprintf("it is %.0fx%.0f px, smaller than %dx%d", im.Box.W, im.Box.H, minImageWidth, minImageHeight)
	case im.Media == "image/svg+xml" && im.Stats.Drawn < minDrawnElements:
		return false, fmt.Sprintf("its SVG draws %d elements, fewer than %d (empty?)", im.Stats.Drawn, minDrawnElements)
	case im.Stats.Scripts > 0:
		return false, fmt.Sprintf("its SVG has %d scripts", im.Stats.Scripts)
	case len(im.Stats.External) > 0:
		return false, fmt.Sprintf("its SVG refers outside itself (%.60q)", im.Stats.External[0])
	case !im.Captured:
		return false, "no picture of it could be taken: " + im.CaptureErr
	case !enoughInk(im.Inked, im.Pixels):
		return false, fmt.Sprintf("it looks blank: %d of %d pixels differ from the background", im.Inked, im.Pixels)
	}
	return true, ""
}

// chartPosition is one place where a page shows a chart.
type chartPosition struct {
	Kind   string        `json:"kind"` // "static" (div.alignlab-chart) or "echarts" (a chart of the old kind)
	ID     string        `json:"id"`
	Found  bool          `json:"found"`
	Box    *rect         `json:"box"`
	Images []staticImage `json:"images"`
}

// Shows reports whether one of the position's static images shows the
// chart, and if none does, why.
func (p *chartPosition) Shows() (bool, string) {
	if !p.Found {
		return false, "a script initialises this chart but the page has no element for it"
	}
	if len(p.Images) == 0 {
		if p.Kind == "echarts" {
			return false, "an interactive-only chart: no static image (img.alignlab-static) to show without JavaScript"
		}
		return false, "no img.alignlab-static inside the div.alignlab-chart"
	}
	var why []string
	for i := range p.Images {
		ok, w := p.Images[i].Shows()
		if ok {
			return true, ""
		}
		why = append(why, w)
	}
	return false, "its static image: " + strings.Join(why, "; ")
}

// Name is how reports call the position.
func (p *chartPosition) Name() string {
	alt := ""
	for _, im := range p.Images {
		if im.Alt != "" {
			alt = fmt.Sprintf("%q", im.Alt)
			break
		}
	}
	switch {
	case p.ID == "" && alt == "":
		return "(no id)"
	case p.ID == "":
		return alt
	case alt == "":
		return p.ID
	}
	return p.ID + " " + alt
}

// revealJS scrolls image %d of the probe into view (its scroll container
// too: classic Jupyter scrolls #site, not the page) and returns its box,
// cut to the window, in page coordinates.
const revealJS = `(function () {
  var im = window.__nbcheckImages[%d];
  im.scrollIntoView({block: 'start', inline: 'nearest'});
  var r = im.getBoundingClientRect();
  var top = Math.max(r.top, 0), bottom = Math.min(r.bottom, window.innerHeight);
  return {x: r.left + window.scrollX, y: top + window.scrollY, w: Math.min(r.width, window.innerWidth - r.left), h: Math.max(bottom - top, 0)};
})()`

// reveal scrolls an image of the probe into view and returns its box.
func (d *devtools) reveal(ctx context.Context, index int) (rect, error) {
	var r rect
	if err := d.eval(ctx, fmt.Sprintf(revealJS, index), &r); err != nil {
		return r, err
	}
	if r.W < 1 || r.H < 1 {
		return r, fmt.Errorf("its image has no visible area once scrolled into view (%.0fx%.0f)", r.W, r.H)
	}
	return r, nil
}

// inspectImages decodes every static image and takes the browser's picture
// of each visible one, to count its inked pixels.
func inspectImages(ctx context.Context, d *devtools, positions []chartPosition) error {
	for i := range positions {
		for k := range positions[i].Images {
			im := &positions[i].Images[k]
			im.inspect()
			if !im.Visible || im.Box.W < 1 || im.Box.H < 1 {
				continue
			}
			box, err := d.reveal(ctx, im.Index)
			if err != nil {
				im.CaptureErr = err.Error()
				continue
			}
			shot, err := d.capture(ctx, box)
			if err != nil {
				return fmt.Errorf("picture of chart %s: %v", positions[i].Name(), err)
			}
			im.Inked, im.Pixels, err = ink(shot)
			if err != nil {
				return fmt.Errorf("picture of chart %s: %v", positions[i].Name(), err)
			}
			im.Captured = true
		}
	}
	return nil
}

// staticResult is what the JavaScript-off check saw of a page.
type staticResult struct {
	ScriptsRan bool            `json:"scriptsRan"`
	Height     int             `json:"height"` // of the page, in CSS pixels
	Positions  []chartPosition `json:"positions"`
}

// scriptMarker is the attribute the marker script sets on <html>: if it is
// there after loading, scripts ran and the JavaScript-off check is void.
const scriptMarker = "data-nbcheck-scripts-ran"

// injectMarker adds a script setting scriptMarker at the start of the page.
func injectMarker(page []byte) []byte {
	script := "<script>document.documentElement.setAttribute('" + scriptMarker + "', 'yes');</script>\n"
	if head := headTag.FindIndex(page); head != nil {
		return append(append(append([]byte{}, page[:head[1]]...), script...), page[head[1]:]...)
	}
	return append([]byte(script), page...)
}

// checkStatic opens page in headless Chromium with JavaScript disabled and
// finds every chart position and what its static image shows. With shot
// set it also writes a PNG of the page (1280 px wide, at most 16,000 high).
// The copy it opens (with the marker script) is written next to page and
// removed after.
func checkStatic(ctx context.Context, page, shot string) (*staticResult, error) {
	src, err := os.ReadFile(page)
	if err != nil {
		return nil, err
	}
	marked := strings.TrimSuffix(page, filepath.Ext(page)) + ".nojs-probe.html"
	if err := os.WriteFile(marked, injectMarker(src), 0o644); err != nil {
		return nil, err
	}
	defer os.Remove(marked)
	abs, err := filepath.Abs(marked)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	d, err := startDevtools(ctx, "--blink-settings=scriptEnabled=false")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := d.navigate(ctx, "file://"+abs); err != nil {
		return nil, err
	}
	ids, _ := json.Marshal(expectedCharts(src))
	expr := "(function () {" + positionsJS + `
  var de = document.documentElement;
  return {scriptsRan: de.hasAttribute('` + scriptMarker + `'), height: de.scrollHeight,
          positions: nbcheckPositions(document, ` + string(ids) + `)};
})()`
	var res staticResult
	if err := d.eval(ctx, expr, &res); err != nil {
		return nil, fmt.Errorf("%s: %v", page, err)
	}
	if res.ScriptsRan {
		return &res, fmt.Errorf("%s: scripts ran although JavaScript was disabled: the check proves nothing", page)
	}
	if err := inspectImages(ctx, d, res.Positions); err != nil {
		return nil, fmt.Errorf("%s: %v", page, err)
	}
	if shot != "" {
		h := min(max(res.Height, 400), 16000)
		png, err := d.capture(ctx, rect{W: viewWidth, H: float64(h)})
		if err != nil {
			return &res, fmt.Errorf("%s: screenshot: %v", page, err)
		}
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			return &res, err
		}
	}
	return &res, nil
}

// reportStatic prints one line per page and one per chart position that
// shows no static image, and returns the number of those.
func reportStatic(stdout, stderr io.Writer, page string, res *staticResult) int {
	bad := 0
	for i := range res.Positions {
		p := &res.Positions[i]
		if ok, why := p.Shows(); !ok {
			bad++
			fmt.Fprintf(stderr, "nbcheck: %s: JavaScript off: chart %s shows no image: %s\n", page, p.Name(), why)
		}
	}
	n := len(res.Positions)
	fmt.Fprintf(stdout, "%s: JavaScript off: %d/%d charts show a static image\n", page, n-bad, n)
	return bad
}
