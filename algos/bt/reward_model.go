package bt

import (
	"fmt"
	"path/filepath"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// This file holds the model of bt.reward, TrainedReward: its files, its
// loader, its Score and the checks of a warm start.

// TrainedReward is what bt.reward trains: the reward network and the input
// it reads, feature vectors of Dim (after prompt vectors of PromptDim) or
// text hashed into HashDim buckets per text. Its Score measures it on new
// pairs; a run starts from it (Info.Init).
type TrainedReward struct {
	Net            *RewardModel
	Dim, PromptDim int
	Text           bool
	HashDim        int // text only: buckets per text (then Dim = HashDim)
	// Loss is the loss it was trained with; Score reports its mean.
	Loss string
}

var (
	_ kernel.Model       = (*TrainedReward)(nil)
	_ kernel.Scorer      = (*TrainedReward)(nil)
	_ kernel.ModelLoader = rewardPlugin{}
)

// rewardFile is TrainedReward's ModelFile.
type rewardFile struct {
	Kind         string `json:"kind"`
	Architecture string `json:"architecture"` // ModelLinear or ModelMLP
	Input        int    `json:"input"`
	HiddenLayers int    `json:"hidden_layers"`
	HiddenUnits  int    `json:"hidden_units"`
	Dim          int    `json:"dim"`
	PromptDim    int    `json:"prompt_dim"`
	Text         bool   `json:"text"`
	HashDim      int    `json:"hash_dim,omitempty"`
	Loss         string `json:"loss"`
	// DType is the float type the network was trained and saved in,
	// fit.DTypeFloat32 or fit.DTypeFloat64; models saved before it was
	// recorded have none and are float64.
	DType string `json:"dtype,omitempty"`
}

// Kind says "linear reward model, input n" or "MLP reward model, input n,
// layers×units tanh", and for text the hashing.
func (m *TrainedReward) Kind() string {
	s := fmt.Sprintf("linear reward model, input %d", m.Net.In)
	if len(m.Net.Hidden) > 0 {
		s = fmt.Sprintf("MLP reward model, input %d, %d×%d tanh", m.Net.In, len(m.Net.Hidden), m.Net.Hidden[0].Out)
	}
	if m.Text {
		s += fmt.Sprintf(", text hashed into %d buckets", m.HashDim)
	}
	return s
}

// layerName is the GoMLX variable scope of layer l of n (hidden layers
// then the output), as RewardTrainer names them.
func layerName(l, n int) string {
	if l == n-1 {
		return "reward/output"
	}
	return fmt.Sprintf("reward/hidden%d", l)
}

func (m *TrainedReward) layers() []RewardLayer {
	return append(append([]RewardLayer(nil), m.Net.Hidden...), m.Net.Output)
}

// weights are the layers under the variable paths of the trainer's GoMLX
// store: reward/hidden<l>/{weights,biases} and reward/output/…, in the
// network's dtype (a float32 network's values are float32 already, so
// nothing rounds).
func (m *TrainedReward) weights() artifact.Weights {
	w := artifact.Weights{}
	ls := m.layers()
	dt := m.Net.dtype()
	for l, layer := range ls {
		name := layerName(l, len(ls))
		w[name+"/weights"] = artifact.F64(layer.W, layer.In, layer.Out).In(dt)
		w[name+"/biases"] = artifact.F64(layer.B, layer.Out).In(dt)
	}
	return w
}

// Shapes are each layer's weights [in, out] and biases [out].
func (m *TrainedReward) Shapes() map[string][]int { return m.weights().Shapes() }

// Save writes the layers as a GoMLX checkpoint, in the network's dtype,
// and the architecture, input and dtype as ModelFile.
func (m *TrainedReward) Save(dir string) error {
	if err := artifact.Save(dir, m.weights()); err != nil {
		return err
	}
	f := rewardFile{Kind: kindReward, Architecture: m.Net.Kind, Input: m.Net.In, HiddenLayers: len(m.Net.Hidden),
		Dim: m.Dim, PromptDim: m.PromptDim, Text: m.Text, HashDim: m.HashDim, Loss: m.Loss, DType: fit.DTypeName(m.Net.dtype())}
	if len(m.Net.Hidden) > 0 {
		f.HiddenUnits = m.Net.Hidden[0].Out
	}
	return writeModelFile(dir, f)
}

// input describes the pairs the model reads, for errors.
func (m *TrainedReward) input() string {
	return pairsInput(m.Text, m.Dim, m.PromptDim)
}

func pairsInput(text bool, dim, promptDim int) string {
	form := "feature vectors"
	if text {
		form = "text"
	}
	return fmt.Sprintf("%s of dimension %d, prompt dimension %d", form, dim, promptDim)
}

// Score measures the model on the pairs of job.Data without training:
// table scores and finals pairs, tie_pairs, accuracy, mean_margin,
// log_loss, loss and rating_rmse (see the plugin's Info.Model).
func (m *TrainedReward) Score(job *kernel.Job) error {
	hashDim := job.Params.Int(ParamHashDim)
	if m.Text {
		if hashDim != m.HashDim {
			return &kernel.ModelUsageError{Plugin: "bt.reward", Msg: fmt.Sprintf("score: hash_dim=%d, but the saved model reads text hashed into %d buckets: drop hash_dim", hashDim, m.HashDim)}
		}
	}
	var all *datasets.RewardPairs
	for i, path := range job.Data {
		p, err := datasets.LoadRewardPairs(path, &datasets.PairsOptions{HashDim: hashDim})
		if err != nil {
			return err
		}
		job.DataShape(i, pairsShape(p)...)
		if p.Text != m.Text || p.Dim != m.Dim || p.PromptDim != m.PromptDim {
			return &datasets.Error{File: path, Msg: fmt.Sprintf("want the pairs the saved model reads (%s), got %s",
				m.input(), pairsInput(p.Text, p.Dim, p.PromptDim))}
		}
		if all == nil {
			all = p
			continue
		}
		all.Pairs = append(all.Pairs, p.Pairs...)
		all.HasStrength = all.HasStrength || p.HasStrength
		all.HasRatings = all.HasRatings && p.HasRatings
		all.HasWeights = all.HasWeights || p.HasWeights
	}
	t := job.AddTable("scores", "pair", "reward_chosen", "reward_rejected", "margin", "p_chosen", "strength", "weight", "log_loss")
	var loss, weight float64
	ties := 0
	for i := range all.Pairs {
		p := &all.Pairs[i]
		rw, rl := m.Net.ScorePair(p)
		d := rw - rl
		var ll any // a tie (strength 0) says nothing about the order
		if p.Strength == 0 {
			ties++
		} else {
			l := pairloss.SoftplusNegFloat64(d)
			ll = l
			loss += p.Weight * l
			weight += p.Weight
		}
		t.Add(i+1, rw, rl, d, pairloss.Sigmoid(d), p.Strength, p.Weight, ll)
	}
	ev := EvaluateReward(m.Net, all, m.Loss)
	job.SetFinal("pairs", float64(ev.Pairs))
	job.SetFinal("tie_pairs", float64(ties))
	if ev.Pairs > 0 {
		job.SetFinal("accuracy", ev.Accuracy)
		job.SetFinal("mean_margin", ev.Margin)
		job.SetFinal("log_loss", loss/weight)
	} else {
		job.Note("every pair is a tie (strength 0): no accuracy, margin or log loss")
	}
	setIfFinite(job, "loss", ev.Loss)
	setIfFinite(job, "rating_rmse", ev.RatingRMSE)
	return nil
}

// LoadModel reads a TrainedReward saved by a bt.reward run.
func (rewardPlugin) LoadModel(dir string, _ *kernel.Manifest, _ string) (kernel.Model, error) {
	const plugin = "bt.reward"
	var f rewardFile
	kind, err := readModelFile(plugin, dir, &f)
	if err != nil {
		return nil, err
	}
	if kind != kindReward {
		return nil, wrongKind(plugin, dir, kind, kindReward)
	}
	file := filepath.Join(dir, ModelFile)
	switch {
	case f.Architecture != ModelLinear && f.Architecture != ModelMLP:
		return nil, fmt.Errorf("%s: %s: architecture: want %s or %s, got %q", plugin, file, ModelLinear, ModelMLP, f.Architecture)
	case f.Dim < 1 || f.PromptDim < 0 || f.Input != f.Dim+f.PromptDim:
		return nil, fmt.Errorf("%s: %s: input %d, want dim %d + prompt_dim %d ≥ 1", plugin, file, f.Input, f.Dim, f.PromptDim)
	case f.Architecture == ModelMLP && (f.HiddenLayers < 1 || f.HiddenUnits < 1):
		return nil, fmt.Errorf("%s: %s: an MLP needs hidden_layers and hidden_units ≥ 1, got %d and %d", plugin, file, f.HiddenLayers, f.HiddenUnits)
	case f.Architecture == ModelLinear && f.HiddenLayers != 0:
		return nil, fmt.Errorf("%s: %s: a linear model has no hidden layers, got %d", plugin, file, f.HiddenLayers)
	case !validLoss(f.Loss):
		return nil, fmt.Errorf("%s: %s: loss: want one of %v, got %q", plugin, file, RewardLosses, f.Loss)
	}
	dt, err := fit.SavedDType(f.DType) // absent: saved before model.json recorded it
	if err != nil {
		return nil, fmt.Errorf("%s: %s: dtype: %v", plugin, file, err)
	}
	a, err := loadArrays(plugin, dir)
	if err != nil {
		return nil, err
	}
	net := &RewardModel{Kind: f.Architecture, In: f.Input, DType: dt}
	n := f.HiddenLayers + 1
	in := f.Input
	for l := range n {
		out := f.HiddenUnits
		if l == n-1 {
			out = 1
		}
		name := layerName(l, n)
		w, err := a.need(name+"/weights", in, out)
		if err != nil {
			return nil, err
		}
		b, err := a.need(name+"/biases", out)
		if err != nil {
			return nil, err
		}
		layer := RewardLayer{In: in, Out: out, W: w, B: b}
		if l == n-1 {
			net.Output = layer
		} else {
			net.Hidden = append(net.Hidden, layer)
		}
		in = out
	}
	return &TrainedReward{Net: net, Dim: f.Dim, PromptDim: f.PromptDim, Text: f.Text, HashDim: f.HashDim, Loss: f.Loss}, nil
}

// initReward checks that the saved model init can start a bt.reward run
// of cfg's architecture on train, and returns its network.
func initReward(job *kernel.Job, init kernel.Model, train *datasets.RewardPairs, cfg RewardConfig) (*RewardModel, error) {
	m, ok := init.(*TrainedReward)
	if !ok {
		return nil, fmt.Errorf("bt.reward: --model: %s, want a reward model (a bt.reward model)", init.Kind())
	}
	if train.Text != m.Text || train.Dim != m.Dim || train.PromptDim != m.PromptDim {
		return nil, fmt.Errorf("bt.reward: --model: the saved %s reads %s, but the data are %s",
			m.Kind(), m.input(), pairsInput(train.Text, train.Dim, train.PromptDim))
	}
	same := m.Net.Kind == cfg.Model
	if same && cfg.Model == ModelMLP {
		same = len(m.Net.Hidden) == cfg.Layers && m.Net.Hidden[0].Out == cfg.Hidden
	}
	if !same {
		want := ParamModel + "=" + ModelLinear
		if m.Net.Kind == ModelMLP {
			want = fmt.Sprintf("%s=%s %s=%d %s=%d", ParamModel, ModelMLP, ParamLayers, len(m.Net.Hidden), ParamHidden, m.Net.Hidden[0].Out)
		}
		return nil, fmt.Errorf("bt.reward: --model: the saved model is a %s, not the architecture of this run's params; set %s to start from it", m.Kind(), want)
	}
	job.Note("started from the saved %s (trained with loss %s)", m.Kind(), m.Loss)
	if dt, err := cfg.dtype(); err == nil && dt != m.Net.dtype() {
		job.Note("the saved model is %s, this run %s: its weights are converted", fit.DTypeName(m.Net.dtype()), fit.DTypeName(dt))
	}
	return m.Net, nil
}

// rewardModelOf is the model a bt.reward run hands back.
func rewardModelOf(net *RewardModel, train *datasets.RewardPairs, hashDim int, loss string) *TrainedReward {
	m := &TrainedReward{Net: net, Dim: train.Dim, PromptDim: train.PromptDim, Text: train.Text, Loss: loss}
	if train.Text {
		m.HashDim = hashDim
	}
	return m
}
