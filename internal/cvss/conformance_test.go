package cvss

import (
	"fmt"
	"math"
	"math/big"
	"testing"
)

// The tests in this file recompute every base vector of v2, v3.0 and v3.1
// from the specification formulas, independently of go-cvss, and compare
// with Parse.

// TestV2AllBaseVectors: "A Complete Guide to the CVSS Version 2.0",
// section 3.2.1, in exact rational arithmetic with round_to_1_decimal
// rounding half up.
func TestV2AllBaseVectors(t *testing.T) {
	r := func(s string) *big.Rat { x, _ := new(big.Rat).SetString(s); return x }
	av := map[string]*big.Rat{"L": r("0.395"), "A": r("0.646"), "N": r("1")}
	ac := map[string]*big.Rat{"H": r("0.35"), "M": r("0.61"), "L": r("0.71")}
	au := map[string]*big.Rat{"M": r("0.45"), "S": r("0.56"), "N": r("0.704")}
	cia := map[string]*big.Rat{"N": r("0"), "P": r("0.275"), "C": r("0.660")}
	one := r("1")
	n := 0
	for _, vAV := range []string{"L", "A", "N"} {
		for _, vAC := range []string{"H", "M", "L"} {
			for _, vAu := range []string{"M", "S", "N"} {
				for _, c := range []string{"N", "P", "C"} {
					for _, i := range []string{"N", "P", "C"} {
						for _, a := range []string{"N", "P", "C"} {
							// Impact = 10.41*(1-(1-C)*(1-I)*(1-A))
							rest := new(big.Rat).Sub(one, cia[c])
							rest.Mul(rest, new(big.Rat).Sub(one, cia[i]))
							rest.Mul(rest, new(big.Rat).Sub(one, cia[a]))
							impact := new(big.Rat).Mul(r("10.41"), new(big.Rat).Sub(one, rest))
							// Exploitability = 20*AV*AC*Au
							expl := new(big.Rat).Mul(r("20"), av[vAV])
							expl.Mul(expl, ac[vAC]).Mul(expl, au[vAu])
							// Base = ((0.6*Impact)+(0.4*Exploitability)-1.5)*f(Impact)
							base := new(big.Rat)
							if impact.Sign() != 0 {
								base.Mul(r("0.6"), impact)
								base.Add(base, new(big.Rat).Mul(r("0.4"), expl))
								base.Sub(base, r("1.5"))
								base.Mul(base, r("1.176"))
							}
							// round half up to one decimal
							tenths := new(big.Rat).Add(new(big.Rat).Mul(base, r("10")), r("0.5"))
							q := new(big.Int).Quo(tenths.Num(), tenths.Denom())
							want := float64(q.Int64()) / 10

							vector := fmt.Sprintf("AV:%s/AC:%s/Au:%s/C:%s/I:%s/A:%s", vAV, vAC, vAu, c, i, a)
							got, err := Parse(vector)
							if err != nil {
								t.Fatalf("%s: %v", vector, err)
							}
							if got.Base != want {
								t.Errorf("%s: Base %v, want %v", vector, got.Base, want)
							}
							n++
						}
					}
				}
			}
		}
	}
	if n != 729 {
		t.Errorf("%d vectors, want 729", n)
	}
}

// roundup31 is Roundup from CVSS v3.1 specification Appendix A.
func roundup31(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return (math.Floor(float64(i)/10000) + 1) / 10
}

// TestV3AllBaseVectors: CVSS v3.1 specification section 7.1 (the v3.0 base
// equations are identical), with the Appendix A Roundup for both versions.
// It also counts where the v3.0 specification's naive Roundup (ceiling to
// one decimal) would differ because of floating-point noise.
func TestV3AllBaseVectors(t *testing.T) {
	av := map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
	ac := map[string]float64{"L": 0.77, "H": 0.44}
	ui := map[string]float64{"N": 0.85, "R": 0.62}
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	pr := func(v, s string) float64 {
		switch {
		case v == "N":
			return 0.85
		case v == "L" && s == "U":
			return 0.62
		case v == "L":
			return 0.68
		case s == "U":
			return 0.27
		default:
			return 0.5
		}
	}
	naiveDiffers, n := 0, 0
	for _, ver := range []string{"3.0", "3.1"} {
		for _, vAV := range []string{"N", "A", "L", "P"} {
			for _, vAC := range []string{"L", "H"} {
				for _, vPR := range []string{"N", "L", "H"} {
					for _, vUI := range []string{"N", "R"} {
						for _, s := range []string{"U", "C"} {
							for _, c := range []string{"H", "L", "N"} {
								for _, i := range []string{"H", "L", "N"} {
									for _, a := range []string{"H", "L", "N"} {
										iss := 1 - ((1 - cia[c]) * (1 - cia[i]) * (1 - cia[a]))
										var impact float64
										if s == "U" {
											impact = 6.42 * iss
										} else {
											impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
										}
										expl := 8.22 * av[vAV] * ac[vAC] * pr(vPR, s) * ui[vUI]
										var raw float64
										switch {
										case impact <= 0:
										case s == "U":
											raw = math.Min(impact+expl, 10)
										default:
											raw = math.Min(1.08*(impact+expl), 10)
										}
										want := 0.0
										if impact > 0 {
											want = roundup31(raw)
											if ver == "3.0" && math.Ceil(raw*10)/10 != want {
												naiveDiffers++
											}
										}
										vector := fmt.Sprintf("CVSS:%s/AV:%s/AC:%s/PR:%s/UI:%s/S:%s/C:%s/I:%s/A:%s", ver, vAV, vAC, vPR, vUI, s, c, i, a)
										got, err := Parse(vector)
										if err != nil {
											t.Fatalf("%s: %v", vector, err)
										}
										if got.Base != want {
											t.Errorf("%s: Base %v, want %v", vector, got.Base, want)
										}
										n++
									}
								}
							}
						}
					}
				}
			}
		}
	}
	if n != 2*2592 {
		t.Errorf("%d vectors, want %d", n, 2*2592)
	}
	t.Logf("%d v3 base vectors checked; the naive v3.0 Roundup would differ on %d of the v3.0 ones", n, naiveDiffers)
}
