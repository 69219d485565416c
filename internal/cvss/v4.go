package cvss

import (
	"math"
	"strconv"
	"strings"
)

// CVSS v4.0 scoring: the MacroVector lookup and interpolation of the CVSS
// v4.0 specification, section 8 (https://www.first.org/cvss/v4.0/specification-document),
// computed the way the reference calculator does it: cvss40.js of
// https://github.com/RedHatProductSecurity/cvss-v4-calculator (the code
// behind the FIRST calculator), including the 2024-11-01 rounding fix
// (PR #67) that lifts the interpolated score by 1e-6 before rounding so
// that values one ULP below an x.x5 tie round half up.
//
// The arithmetic deliberately mirrors the reference float64 operations and
// their order (severity levels in steps of 0.1, depths multiplied by 0.1)
// so that ties round exactly as in the reference; explicit float64()
// conversions keep the compiler from fusing multiply-adds.

// Metric indices into v4Metrics: the 11 base metrics first, then threat and
// environmental. Supplemental metrics do not affect the score.
const (
	v4AV = iota
	v4AC
	v4AT
	v4PR
	v4UI
	v4VC
	v4VI
	v4VA
	v4SC
	v4SI
	v4SA
	v4E
	v4CR
	v4IR
	v4AR
	v4MAV
	v4MAC
	v4MAT
	v4MPR
	v4MUI
	v4MVC
	v4MVI
	v4MVA
	v4MSC
	v4MSI
	v4MSA
	v4NumMetrics

	v4NumBase = v4E
	// offset from a base metric to its modified (M*) counterpart
	v4Modified = v4MAV - v4AV
)

var v4Names = [v4NumMetrics]string{
	"AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
	"E", "CR", "IR", "AR",
	"MAV", "MAC", "MAT", "MPR", "MUI", "MVC", "MVI", "MVA", "MSC", "MSI", "MSA",
}

// v4Metrics holds one single-letter value per metric; 'X' is "not defined".
type v4Metrics [v4NumMetrics]byte

func (m *v4Metrics) reset() {
	for i := range m {
		m[i] = 'X'
	}
}

// eff is the value used for scoring: undefined E, CR, IR, AR take their
// worst case, and a defined modified metric overrides its base metric.
func (m *v4Metrics) eff(i int) byte {
	switch v := m[i]; {
	case i == v4E && v == 'X':
		return 'A'
	case (i == v4CR || i == v4IR || i == v4AR) && v == 'X':
		return 'H'
	case i < v4NumBase && m[i+v4Modified] != 'X':
		return m[i+v4Modified]
	default:
		return v
	}
}

// v4Level is the severity level of a metric value, as in the reference
// calculator's METRIC_LEVELS (0.1 per step, lower is more severe).
func v4Level(i int, v byte) float64 {
	switch i {
	case v4AV:
		return pick(v, "NALP", 0.0, 0.1, 0.2, 0.3)
	case v4PR:
		return pick(v, "NLH", 0.0, 0.1, 0.2)
	case v4UI:
		return pick(v, "NPA", 0.0, 0.1, 0.2)
	case v4AC:
		return pick(v, "LH", 0.0, 0.1)
	case v4AT:
		return pick(v, "NP", 0.0, 0.1)
	case v4VC, v4VI, v4VA:
		return pick(v, "HLN", 0.0, 0.1, 0.2)
	case v4SC:
		return pick(v, "HLN", 0.1, 0.2, 0.3)
	case v4SI, v4SA:
		return pick(v, "SHLN", 0.0, 0.1, 0.2, 0.3)
	case v4CR, v4IR, v4AR:
		return pick(v, "HML", 0.0, 0.1, 0.2)
	case v4E:
		return pick(v, "APU", 0, 0.1, 0.2)
	}
	return math.NaN()
}

func pick(v byte, keys string, vals ...float64) float64 {
	if i := strings.IndexByte(keys, v); i >= 0 {
		return vals[i]
	}
	return math.NaN()
}

// v4LevelMetrics are the metrics with a severity level, in the order the
// reference calculator checks them.
var v4LevelMetrics = [...]int{v4AV, v4PR, v4UI, v4AC, v4AT, v4VC, v4VI, v4VA, v4SC, v4SI, v4SA, v4CR, v4IR, v4AR, v4E}

// v4MacroScores maps an EQ1..EQ6 MacroVector to the score of its highest
// severity vector (specification section 8.2; reference LOOKUP_TABLE).
// Absent MacroVectors are NaN.
var v4MacroScores = func() (t [3][2][3][3][3][2]float64) {
	for a := range t {
		for b := range t[a] {
			for c := range t[a][b] {
				for d := range t[a][b][c] {
					for e := range t[a][b][c][d] {
						t[a][b][c][d][e] = [2]float64{math.NaN(), math.NaN()}
					}
				}
			}
		}
	}
	for _, f := range strings.Fields(v4MacroTable) {
		k, v, ok := strings.Cut(f, ":")
		score, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || len(k) != 6 {
			panic("cvss: bad v4 MacroVector table entry " + f)
		}
		t[k[0]-'0'][k[1]-'0'][k[2]-'0'][k[3]-'0'][k[4]-'0'][k[5]-'0'] = score
	}
	return t
}()

const v4MacroTable = `
000000:10 000001:9.9 000010:9.8 000011:9.5 000020:9.5 000021:9.2 000100:10 000101:9.6 000110:9.3 000111:8.7 000120:9.1 000121:8.1 000200:9.3 000201:9 000210:8.9 000211:8 000220:8.1 000221:6.8
001000:9.8 001001:9.5 001010:9.5 001011:9.2 001020:9 001021:8.4 001100:9.3 001101:9.2 001110:8.9 001111:8.1 001120:8.1 001121:6.5 001200:8.8 001201:8 001210:7.8 001211:7 001220:6.9 001221:4.8
002001:9.2 002011:8.2 002021:7.2 002101:7.9 002111:6.9 002121:5 002201:6.9 002211:5.5 002221:2.7
010000:9.9 010001:9.7 010010:9.5 010011:9.2 010020:9.2 010021:8.5 010100:9.5 010101:9.1 010110:9 010111:8.3 010120:8.4 010121:7.1 010200:9.2 010201:8.1 010210:8.2 010211:7.1 010220:7.2 010221:5.3
011000:9.5 011001:9.3 011010:9.2 011011:8.5 011020:8.5 011021:7.3 011100:9.2 011101:8.2 011110:8 011111:7.2 011120:7 011121:5.9 011200:8.4 011201:7 011210:7.1 011211:5.2 011220:5 011221:3
012001:8.6 012011:7.5 012021:5.2 012101:7.1 012111:5.2 012121:2.9 012201:6.3 012211:2.9 012221:1.7
100000:9.8 100001:9.5 100010:9.4 100011:8.7 100020:9.1 100021:8.1 100100:9.4 100101:8.9 100110:8.6 100111:7.4 100120:7.7 100121:6.4 100200:8.7 100201:7.5 100210:7.4 100211:6.3 100220:6.3 100221:4.9
101000:9.4 101001:8.9 101010:8.8 101011:7.7 101020:7.6 101021:6.7 101100:8.6 101101:7.6 101110:7.4 101111:5.8 101120:5.9 101121:5 101200:7.2 101201:5.7 101210:5.7 101211:5.2 101220:5.2 101221:2.5
102001:8.3 102011:7 102021:5.4 102101:6.5 102111:5.8 102121:2.6 102201:5.3 102211:2.1 102221:1.3
110000:9.5 110001:9 110010:8.8 110011:7.6 110020:7.6 110021:7 110100:9 110101:7.7 110110:7.5 110111:6.2 110120:6.1 110121:5.3 110200:7.7 110201:6.6 110210:6.8 110211:5.9 110220:5.2 110221:3
111000:8.9 111001:7.8 111010:7.6 111011:6.7 111020:6.2 111021:5.8 111100:7.4 111101:5.9 111110:5.7 111111:5.7 111120:4.7 111121:2.3 111200:6.1 111201:5.2 111210:5.7 111211:2.9 111220:2.4 111221:1.6
112001:7.1 112011:5.9 112021:3 112101:5.8 112111:2.6 112121:1.5 112201:2.3 112211:1.3 112221:0.6
200000:9.3 200001:8.7 200010:8.6 200011:7.2 200020:7.5 200021:5.8 200100:8.6 200101:7.4 200110:7.4 200111:6.1 200120:5.6 200121:3.4 200200:7 200201:5.4 200210:5.2 200211:4 200220:4 200221:2.2
201000:8.5 201001:7.5 201010:7.4 201011:5.5 201020:6.2 201021:5.1 201100:7.2 201101:5.7 201110:5.5 201111:4.1 201120:4.6 201121:1.9 201200:5.3 201201:3.6 201210:3.4 201211:1.9 201220:1.9 201221:0.8
202001:6.4 202011:5.1 202021:2 202101:4.7 202111:2.1 202121:1.1 202201:2.4 202211:0.9 202221:0.4
210000:8.8 210001:7.5 210010:7.3 210011:5.3 210020:6 210021:5 210100:7.3 210101:5.5 210110:5.9 210111:4 210120:4.1 210121:2 210200:5.4 210201:4.3 210210:4.5 210211:2.2 210220:2 210221:1.1
211000:7.5 211001:5.5 211010:5.8 211011:4.5 211020:4 211021:2.1 211100:6.1 211101:5.1 211110:4.8 211111:1.8 211120:2 211121:0.9 211200:4.6 211201:1.8 211210:1.7 211211:0.7 211220:0.8 211221:0.2
212001:5.3 212011:2.4 212021:1.4 212101:2.4 212111:1.2 212121:0.5 212201:1 212211:0.3 212221:0.1
`

// macro returns the score of MacroVector e, or NaN if it does not exist.
func macro(e [6]int) float64 {
	if e[0] < 0 || e[0] > 2 || e[1] < 0 || e[1] > 1 || e[2] < 0 || e[2] > 2 ||
		e[3] < 0 || e[3] > 2 || e[4] < 0 || e[4] > 2 || e[5] < 0 || e[5] > 1 {
		return math.NaN()
	}
	return v4MacroScores[e[0]][e[1]][e[2]][e[3]][e[4]][e[5]]
}

// Highest severity vectors of each EQ level (specification tables 24-30).
var (
	v4MaxEQ1 = [3][][3]byte{ // AV, PR, UI
		{{'N', 'N', 'N'}},
		{{'A', 'N', 'N'}, {'N', 'L', 'N'}, {'N', 'N', 'P'}},
		{{'P', 'N', 'N'}, {'A', 'L', 'P'}},
	}
	v4MaxEQ2 = [2][][2]byte{ // AC, AT
		{{'L', 'N'}},
		{{'H', 'N'}, {'L', 'P'}},
	}
	v4MaxEQ3EQ6 = [3][2][][6]byte{ // VC, VI, VA, CR, IR, AR
		{
			{{'H', 'H', 'H', 'H', 'H', 'H'}},
			{{'H', 'H', 'L', 'M', 'M', 'H'}, {'H', 'H', 'H', 'M', 'M', 'M'}},
		},
		{
			{{'L', 'H', 'H', 'H', 'H', 'H'}, {'H', 'L', 'H', 'H', 'H', 'H'}},
			{{'L', 'H', 'L', 'H', 'M', 'H'}, {'L', 'H', 'H', 'H', 'M', 'M'}, {'H', 'L', 'H', 'M', 'H', 'M'}, {'H', 'L', 'L', 'M', 'H', 'H'}, {'L', 'L', 'H', 'H', 'H', 'M'}},
		},
		{
			nil,
			{{'L', 'L', 'L', 'H', 'H', 'H'}},
		},
	}
	v4MaxEQ4 = [3][3]byte{ // SC, SI, SA
		{'H', 'S', 'S'},
		{'H', 'H', 'H'},
		{'L', 'L', 'L'},
	}
	v4MaxEQ5 = [3]byte{'A', 'P', 'U'} // E

	// Depth of each EQ level plus one (reference MAX_SEVERITY).
	v4DepthEQ1    = [3]float64{1, 4, 5}
	v4DepthEQ2    = [2]float64{1, 2}
	v4DepthEQ3EQ6 = [3][2]float64{{7, 6}, {8, 8}, {0, 10}}
	v4DepthEQ4    = [3]float64{6, 5, 4}
)

// eqs returns the MacroVector (EQ1..EQ6) of m.
func (m *v4Metrics) eqs() [6]int {
	var e [6]int
	av, pr, ui := m.eff(v4AV), m.eff(v4PR), m.eff(v4UI)
	switch {
	case av == 'N' && pr == 'N' && ui == 'N':
		e[0] = 0
	case (av == 'N' || pr == 'N' || ui == 'N') && av != 'P':
		e[0] = 1
	default:
		e[0] = 2
	}
	if !(m.eff(v4AC) == 'L' && m.eff(v4AT) == 'N') {
		e[1] = 1
	}
	vc, vi, va := m.eff(v4VC), m.eff(v4VI), m.eff(v4VA)
	switch {
	case vc == 'H' && vi == 'H':
		e[2] = 0
	case vc == 'H' || vi == 'H' || va == 'H':
		e[2] = 1
	default:
		e[2] = 2
	}
	switch {
	case m[v4MSI] == 'S' || m[v4MSA] == 'S':
		e[3] = 0
	case m.eff(v4SC) == 'H' || m.eff(v4SI) == 'H' || m.eff(v4SA) == 'H':
		e[3] = 1
	default:
		e[3] = 2
	}
	switch m.eff(v4E) {
	case 'A':
		e[4] = 0
	case 'P':
		e[4] = 1
	default:
		e[4] = 2
	}
	if !((m.eff(v4CR) == 'H' && vc == 'H') || (m.eff(v4IR) == 'H' && vi == 'H') || (m.eff(v4AR) == 'H' && va == 'H')) {
		e[5] = 1
	}
	return e
}

// score computes the CVSS v4.0 score of m (CVSS-B when only base metrics are
// defined), rounded to one decimal.
func (m *v4Metrics) score() float64 {
	none := true
	for _, i := range [...]int{v4VC, v4VI, v4VA, v4SC, v4SI, v4SA} {
		if m.eff(i) != 'N' {
			none = false
			break
		}
	}
	if none {
		return 0
	}

	e := m.eqs()
	value := macro(e)
	eq1, eq2, eq3, eq4, eq5, eq6 := e[0], e[1], e[2], e[3], e[4], e[5]

	// Scores of the next lower MacroVector for each EQ (NaN if none).
	next := func(i, delta int) float64 {
		n := e
		n[i] += delta
		return macro(n)
	}
	lower1 := next(0, 1)
	lower2 := next(1, 1)
	var lower36 float64
	switch {
	case eq3 == 1 && eq6 == 1, eq3 == 0 && eq6 == 1:
		lower36 = next(2, 1)
	case eq3 == 1 && eq6 == 0:
		lower36 = next(5, 1)
	case eq3 == 0 && eq6 == 0:
		lower36 = math.Max(next(5, 1), next(2, 1))
	default: // 21 -> 32 does not exist
		lower36 = math.NaN()
	}
	lower4 := next(3, 1)
	lower5 := next(4, 1)

	// Severity distances from the first highest severity vector of the
	// MacroVector that is not less severe than m in any metric.
	var dist [v4NumMetrics]float64
	var mx v4Metrics
	mx.reset()
found:
	for _, m1 := range v4MaxEQ1[eq1] {
		for _, m2 := range v4MaxEQ2[eq2] {
			for _, m36 := range v4MaxEQ3EQ6[eq3][eq6] {
				mx[v4AV], mx[v4PR], mx[v4UI] = m1[0], m1[1], m1[2]
				mx[v4AC], mx[v4AT] = m2[0], m2[1]
				mx[v4VC], mx[v4VI], mx[v4VA], mx[v4CR], mx[v4IR], mx[v4AR] = m36[0], m36[1], m36[2], m36[3], m36[4], m36[5]
				mx[v4SC], mx[v4SI], mx[v4SA] = v4MaxEQ4[eq4][0], v4MaxEQ4[eq4][1], v4MaxEQ4[eq4][2]
				mx[v4E] = v4MaxEQ5[eq5]
				ok := true
				for _, i := range v4LevelMetrics {
					dist[i] = v4Level(i, m.eff(i)) - v4Level(i, mx[i])
					if !(dist[i] >= 0) {
						ok = false
					}
				}
				if ok {
					break found
				}
			}
		}
	}
	cur1 := dist[v4AV] + dist[v4PR] + dist[v4UI]
	cur2 := dist[v4AC] + dist[v4AT]
	cur36 := dist[v4VC] + dist[v4VI] + dist[v4VA] + dist[v4CR] + dist[v4IR] + dist[v4AR]
	cur4 := dist[v4SC] + dist[v4SI] + dist[v4SA]

	const step = 0.1
	n := 0
	var norm1, norm2, norm36, norm4 float64
	if avail := value - lower1; !math.IsNaN(avail) {
		n++
		norm1 = float64(avail * (cur1 / float64(v4DepthEQ1[eq1]*step)))
	}
	if avail := value - lower2; !math.IsNaN(avail) {
		n++
		norm2 = float64(avail * (cur2 / float64(v4DepthEQ2[eq2]*step)))
	}
	if avail := value - lower36; !math.IsNaN(avail) {
		n++
		norm36 = float64(avail * (cur36 / float64(v4DepthEQ3EQ6[eq3][eq6]*step)))
	}
	if avail := value - lower4; !math.IsNaN(avail) {
		n++
		norm4 = float64(avail * (cur4 / float64(v4DepthEQ4[eq4]*step)))
	}
	if !math.IsNaN(value - lower5) {
		// EQ5 has a single metric, so its proportional distance is always
		// 0, but it still counts towards the mean.
		n++
	}
	mean := 0.0
	if n > 0 {
		mean = (norm1 + norm2 + norm36 + norm4) / float64(n)
	}
	return roundV4(math.Max(0, math.Min(10, value-mean)))
}

// roundV4 rounds half up to one decimal after the reference calculator's
// 1e-6 lift: Math.round((value + EPSILON) * 10) / 10.
func roundV4(x float64) float64 {
	const epsilon = 1e-6
	return math.Round(float64(x+epsilon)*10) / 10
}
