//! Optimisers whose state we own, so a checkpoint can save and restore it exactly
//! (tch does not expose LibTorch's optimiser state).

use tch::{Kind, Tensor};

use crate::config::{OptimizerKind, TrainConfig};

/// RMSprop or Adam over a fixed, named set of parameters.
#[derive(Debug)]
pub struct Optimizer {
    kind: OptimizerKind,
    lr: f64,
    rho: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    params: Vec<(String, Tensor)>,
    /// Per parameter: RMSprop's mean square, or Adam's first and second moments.
    state: Vec<Vec<Tensor>>,
    steps: i64,
}

impl Optimizer {
    /// An optimiser for `params` (name, tensor), configured by `config`.
    pub fn new(mut params: Vec<(String, Tensor)>, config: &TrainConfig) -> Self {
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let slots = match config.optimizer {
            OptimizerKind::Rmsprop => 1,
            OptimizerKind::Adam => 2,
        };
        let state = params.iter().map(|(_, p)| (0..slots).map(|_| p.zeros_like().detach()).collect()).collect();
        Self {
            kind: config.optimizer,
            lr: config.learning_rate,
            rho: config.rho,
            beta1: config.beta1,
            beta2: config.beta2,
            eps: config.epsilon,
            params,
            state,
            steps: 0,
        }
    }

    /// The learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// Clears the gradients of every parameter.
    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.detach_().zero_();
            }
        }
    }

    /// One update from the current gradients.
    ///
    /// RMSprop (Keras 2 and LibTorch): `v = rho v + (1 - rho) g^2; p -= lr g / (sqrt(v) + eps)`.
    /// Adam (LibTorch): `m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    /// p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)`.
    pub fn step(&mut self) {
        self.steps += 1;
        let t = self.steps as f64;
        tch::no_grad(|| {
            for ((_, p), state) in self.params.iter_mut().zip(&mut self.state) {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                match self.kind {
                    OptimizerKind::Rmsprop => {
                        let v = &mut state[0];
                        let _ = v.g_mul_scalar_(self.rho);
                        let _ = v.g_add_(&(g.square() * (1.0 - self.rho)));
                        let denom = v.sqrt() + self.eps;
                        let _ = p.g_sub_(&(g / denom * self.lr));
                    }
                    OptimizerKind::Adam => {
                        let (m, rest) = state.split_at_mut(1);
                        let (m, v) = (&mut m[0], &mut rest[0]);
                        let _ = m.g_mul_scalar_(self.beta1);
                        let _ = m.g_add_(&(&g * (1.0 - self.beta1)));
                        let _ = v.g_mul_scalar_(self.beta2);
                        let _ = v.g_add_(&(g.square() * (1.0 - self.beta2)));
                        let bc1 = 1.0 - self.beta1.powf(t);
                        let bc2 = 1.0 - self.beta2.powf(t);
                        let denom = (&*v / bc2).sqrt() + self.eps;
                        let _ = p.g_sub_(&(&*m / denom * (self.lr / bc1)));
                    }
                }
            }
        });
    }

    /// The state as named tensors, for a checkpoint.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("steps".to_owned(), Tensor::from_slice(&[self.steps]))];
        for ((name, _), state) in self.params.iter().zip(&self.state) {
            for (i, s) in state.iter().enumerate() {
                out.push((format!("{name}.state{i}"), s.shallow_clone()));
            }
        }
        out
    }

    /// Restores state saved by [`Optimizer::state_tensors`]; an error names what does not fit.
    pub fn load_state(&mut self, tensors: &[(String, Tensor)]) -> Result<(), String> {
        let find = |name: &str| tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t);
        let steps = find("steps").ok_or("no `steps` entry")?;
        let expected = 1 + self.state.iter().map(Vec::len).sum::<usize>();
        if tensors.len() != expected {
            return Err(format!("{} entries, expected {expected}", tensors.len()));
        }
        self.steps = steps.int64_value(&[0]);
        tch::no_grad(|| {
            for ((name, _), state) in self.params.iter().zip(&mut self.state) {
                for (i, s) in state.iter_mut().enumerate() {
                    let key = format!("{name}.state{i}");
                    let src = find(&key).ok_or_else(|| format!("no `{key}` entry"))?;
                    if src.size() != s.size() {
                        return Err(format!("`{key}` has shape {:?}, expected {:?}", src.size(), s.size()));
                    }
                    s.copy_(&src.to_device(s.device()).to_kind(Kind::Float));
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, nn};

    /// One RMSprop step from zero state on p = [1, 2] with loss sum(p^2) (g = 2p):
    /// v = 0.1 g^2, so p -= lr * g / (sqrt(0.1) |g| + eps) = lr / sqrt(0.1) * sign(g).
    /// With lr 0.01: p = [1 - 0.0316228, 2 - 0.0316228].
    #[test]
    fn rmsprop_step_matches_the_formula() {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root().var_copy("p", &Tensor::from_slice(&[1.0f32, 2.0]));
        let config = TrainConfig { learning_rate: 0.01, ..TrainConfig::default() };
        let mut opt = Optimizer::new(vec![("p".into(), p.shallow_clone())], &config);
        opt.zero_grad();
        (&p * &p).sum(Kind::Float).backward();
        opt.step();
        let got: Vec<f32> = Vec::<f32>::try_from(&p).unwrap();
        let delta = 0.01 / 0.1f64.sqrt();
        assert!((f64::from(got[0]) - (1.0 - delta)).abs() < 1e-6, "{got:?}");
        assert!((f64::from(got[1]) - (2.0 - delta)).abs() < 1e-6, "{got:?}");
    }

    /// The first Adam step moves every parameter by lr * sign(g) (bias correction cancels).
    #[test]
    fn adam_first_step_is_lr_times_sign() {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root().var_copy("p", &Tensor::from_slice(&[1.0f32, -3.0]));
        let config = TrainConfig { optimizer: OptimizerKind::Adam, learning_rate: 0.1, ..TrainConfig::default() };
        let mut opt = Optimizer::new(vec![("p".into(), p.shallow_clone())], &config);
        (&p * &p).sum(Kind::Float).backward();
        opt.step();
        let got: Vec<f32> = Vec::<f32>::try_from(&p).unwrap();
        assert!((got[0] - 0.9).abs() < 1e-5 && (got[1] + 2.9).abs() < 1e-5, "{got:?}");
    }

    #[test]
    fn state_round_trips() {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root().var_copy("p", &Tensor::from_slice(&[1.0f32, 2.0]));
        let mut opt = Optimizer::new(vec![("p".into(), p.shallow_clone())], &TrainConfig::default());
        (&p * &p).sum(Kind::Float).backward();
        opt.step();
        let saved = opt.state_tensors();
        let mut fresh = Optimizer::new(vec![("p".into(), p.shallow_clone())], &TrainConfig::default());
        fresh.load_state(&saved).unwrap();
        assert_eq!(fresh.steps, 1);
        assert_eq!(fresh.state[0][0].eq_tensor(&opt.state[0][0]).all().int64_value(&[]), 1);
        let err = fresh.load_state(&saved[..1]).unwrap_err();
        assert_eq!(err, "1 entries, expected 2");
    }
}
