package main

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// Thresholds of a static chart image that shows something.
const (
	// minDrawnElements is the fewest drawn SVG elements a chart can have:
	// a title, two axis lines, a few tick labels and one series already make
	// more, while an empty or background-only picture has 0 or 1.
	minDrawnElements = 8
	// minImageWidth and minImageHeight (CSS pixels) are the smallest box in
	// which a chart can be read; a collapsed or icon-sized image is not one.
	minImageWidth, minImageHeight = 150, 80
	// minInkFraction of an image's pixels must differ from its background
	// colour (by more than inkTolerance in some channel), and at least
	// minInkPixels of them: axes, labels and series leave far more.
	minInkFraction = 0.003
	minInkPixels   = 150
	inkTolerance   = 40
)

// dataURI decodes a data: URI into its media type and bytes.
func dataURI(src string) (mediaType string, data []byte, err error) {
	rest, ok := strings.CutPrefix(src, "data:")
	if !ok {
		if src == "" {
			return "", nil, errors.New("no src")
		}
		return "", nil, fmt.Errorf("src is not a data: URI (%.40q): it needs a network or a file", src)
	}
	header, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return "", nil, errors.New("data: URI without a comma")
	}
	params := strings.Split(header, ";")
	mediaType = strings.ToLower(strings.TrimSpace(params[0]))
	isBase64 := false
	for _, p := range params[1:] {
		if strings.EqualFold(strings.TrimSpace(p), "base64") {
			isBase64 = true
		}
	}
	if isBase64 {
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
				return -1
			}
			return r
		}, payload)
		data, err = base64.StdEncoding.DecodeString(clean)
		if err != nil {
			if data, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(clean, "=")); err != nil {
				return mediaType, nil, fmt.Errorf("data: URI: bad base64: %v", err)
			}
		}
		return mediaType, data, nil
	}
	s, err := url.PathUnescape(payload)
	if err != nil {
		return mediaType, nil, fmt.Errorf("data: URI: %v", err)
	}
	return mediaType, []byte(s), nil
}

// svgStats is what an SVG document draws.
type svgStats struct {
	Drawn    int      // shapes and non-empty texts that paint something
	Texts    int      // of which texts
	Scripts  int      // <script> elements and on* attributes
	External []string // references that leave the document
}

// notDrawn are SVG elements whose content is not painted where it stands.
var notDrawn = map[string]bool{
	"defs": true, "clipPath": true, "mask": true, "symbol": true, "marker": true, "pattern": true,
	"linearGradient": true, "radialGradient": true, "filter": true, "title": true, "desc": true,
	"metadata": true, "style": true, "script": true,
}

// paintState is the part of the inherited presentation that decides
// whether a shape paints.
type paintState struct {
	fill, stroke string // "none" or anything else
}

// countSVG parses an SVG document and counts what it draws: path, line,
// polyline, polygon, rect, circle, ellipse and use elements with geometry
// and a fill or stroke other than none, and text elements with text,
// outside defs-like containers and not hidden (display none, visibility
// hidden, opacity 0), with fill and stroke inherited as SVG does.
func countSVG(doc []byte) (svgStats, error) {
	var st svgStats
	d := xml.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		name    string
		paint   paintState
		skip    bool // inside a notDrawn container or hidden
		text    bool // a text element
		hasText bool
	}
	var stack []frame
	root := true
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if root {
				if name != "svg" {
					return st, fmt.Errorf("root element is <%s>, not <svg>", name)
				}
				root = false
			}
			parent := frame{paint: paintState{fill: "black", stroke: "none"}}
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			f := frame{name: name, paint: parent.paint, skip: parent.skip || notDrawn[name]}
			if name == "script" {
				st.Scripts++
			}
			attrs := map[string]string{}
			for _, a := range t.Attr {
				key := a.Name.Local
				if a.Name.Space != "" && a.Name.Space != "http://www.w3.org/2000/svg" && key != "href" {
					continue
				}
				attrs[key] = strings.TrimSpace(a.Value)
				if strings.HasPrefix(strings.ToLower(key), "on") {
					st.Scripts++
				}
				if key == "href" || key == "src" {
					if v := attrs[key]; v != "" && !strings.HasPrefix(v, "#") && !strings.HasPrefix(v, "data:") {
						st.External = append(st.External, v)
					}
				}
			}
			for k, v := range parseStyle(attrs["style"]) {
				attrs[k] = v
			}
			if v, ok := attrs["fill"]; ok {
				f.paint.fill = v
			}
			if v, ok := attrs["stroke"]; ok {
				f.paint.stroke = v
			}
			if attrs["display"] == "none" || attrs["visibility"] == "hidden" || attrs["visibility"] == "collapse" || isZero(attrs["opacity"]) {
				f.skip = true
			}
			if !f.skip && paints(name, attrs, f.paint) {
				st.Drawn++
			}
			f.text = name == "text"
			stack = append(stack, f)
		case xml.CharData:
			if len(stack) == 0 || len(bytes.TrimSpace(t)) == 0 {
				continue
			}
			// The text element that holds the characters (directly or
			// through a tspan) counts once.
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i].text {
					if !stack[i].hasText && !stack[len(stack)-1].skip && stack[i].paint.fill != "none" {
						stack[i].hasText = true
						st.Drawn++
						st.Texts++
					}
					break
				}
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if root {
		return st, errors.New("no <svg> element")
	}
	return st, nil
}

// paints reports whether a shape element has geometry and paint.
func paints(name string, a map[string]string, p paintState) bool {
	visible := p.fill != "none" || p.stroke != "none"
	switch name {
	case "path":
		return visible && a["d"] != ""
	case "line":
		return p.stroke != "none" && (a["x1"] != a["x2"] || a["y1"] != a["y2"])
	case "polyline", "polygon":
		return visible && len(strings.Fields(strings.ReplaceAll(a["points"], ",", " "))) >= 4
	case "rect":
		return visible && positive(a["width"]) && positive(a["height"])
	case "circle":
		return visible && positive(a["r"])
	case "ellipse":
		return visible && positive(a["rx"]) && positive(a["ry"])
	case "use":
		return true
	}
	return false
}

// positive reports whether an SVG length is > 0 (a percentage counts).
func positive(s string) bool {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, "%abcdefghijklmnopqrstuvwxyz")
	v, err := strconv.ParseFloat(s, 64)
	return err == nil && v > 0
}

func isZero(s string) bool {
	if s == "" {
		return false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil && v == 0
}

// parseStyle reads a style attribute's declarations (lower-case names).
func parseStyle(s string) map[string]string {
	out := map[string]string{}
	for _, decl := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(decl, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "!important"))
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out
}

// ink counts the pixels of a PNG that differ from its most common colour
// (the background) by more than inkTolerance in some channel.
func ink(pngData []byte) (inked, total int, err error) {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return 0, 0, err
	}
	return inkOf(img)
}

func inkOf(img image.Image) (inked, total int, err error) {
	b := img.Bounds()
	type rgb struct{ r, g, b uint8 }
	at := func(x, y int) rgb {
		r, g, bl, _ := img.At(x, y).RGBA()
		return rgb{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}
	}
	counts := map[rgb]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[at(x, y)]++
		}
	}
	var bg rgb
	most := -1
	for c, n := range counts {
		if n > most || (n == most && int(c.r)+int(c.g)+int(c.b) > int(bg.r)+int(bg.g)+int(bg.b)) {
			bg, most = c, n
		}
	}
	diff := func(a, b uint8) int {
		if a > b {
			return int(a - b)
		}
		return int(b - a)
	}
	for c, n := range counts {
		if diff(c.r, bg.r) > inkTolerance || diff(c.g, bg.g) > inkTolerance || diff(c.b, bg.b) > inkTolerance {
			inked += n
		}
	}
	return inked, b.Dx() * b.Dy(), nil
}

// enoughInk reports whether inked of total pixels make a picture.
func enoughInk(inked, total int) bool {
	return inked >= minInkPixels && float64(inked) >= minInkFraction*float64(total)
}
