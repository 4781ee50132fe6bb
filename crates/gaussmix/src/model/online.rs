//! Online (mini-batch, stepwise) EM from the model's side: `partial_fit` one batch at a
//! time, passes closed with `end_pass`, the running state kept on the model (and in its
//! file, so a saved model is a checkpoint that `partial_fit` continues).

use super::GaussianMixture;
use crate::data::AsData;
use crate::error::{GmmError, Result};
use crate::fit::online::{batch_stats, OnlineState};
use crate::fit::FitRecord;
use crate::options::GmmOptions;

impl OnlineState {
    /// Stepwise updates made after the warm-up batch.
    pub fn updates(&self) -> u64 {
        self.updates
    }
    /// Batches seen in all, the warm-up included.
    pub fn batches(&self) -> u64 {
        self.batches
    }
    /// Rows seen in all (every pass counts its rows again).
    pub fn rows(&self) -> u64 {
        self.rows
    }
    /// `κ` of the step sizes.
    pub fn step_exponent(&self) -> f64 {
        self.step_exponent
    }
    /// The step size `η` the next batch will be blended in with.
    pub fn next_step_size(&self) -> f64 {
        self.next_step()
    }
    /// Rows seen in the pass under way (since the last
    /// [`end_pass`](GaussianMixture::end_pass)).
    pub fn pass_rows(&self) -> u64 {
        self.pass.rows
    }
    /// Updates averaged so far ([`GmmOptions::average_from`]; 0 before averaging
    /// begins).
    pub fn averaged_updates(&self) -> u64 {
        self.average.as_ref().map_or(0, |a| a.count)
    }
    /// The most rows a batch has had (the batch size of a run fed in equal batches).
    pub fn batch_rows(&self) -> u64 {
        self.batch_rows
    }
    /// Batches seen in the pass under way.
    pub fn pass_batches(&self) -> u64 {
        self.pass.batches
    }
}

/// The record of an online fit, refreshed after every batch: `lower_bounds` holds each
/// finished pass's mean log-likelihood, `n_iter` the passes; the rows, weight and score
/// are the last finished pass's (the pass under way's before the first ends).
fn refresh(record: &mut FitRecord, state: &OnlineState, k: usize, d: usize) {
    if record.n_iter == 0 && state.pass.weight > 0.0 {
        record.n_samples = usize::try_from(state.pass.rows).unwrap_or(usize::MAX);
        record.total_weight = state.pass.weight;
        record.score = state.pass.ll / state.pass.weight;
        record.lower_bound = record.score;
    }
    let n = record.total_weight;
    let p = record.options.covariance_type.n_parameters(k, d) as f64;
    record.n_parameters = p as usize;
    if n > 0.0 {
        record.bic = -2.0 * n * record.score + p * n.ln();
        record.aic = -2.0 * n * record.score + 2.0 * p;
    }
}

fn record_for(opts: &GmmOptions) -> FitRecord {
    let mut options = opts.clone();
    options.feature_names = None;
    FitRecord {
        options,
        ..FitRecord::default()
    }
}

impl GmmOptions {
    /// Starts online EM on its first (warm-up) batch and returns the model, ready for
    /// more batches with [`GaussianMixture::partial_fit`].
    ///
    /// The warm-up batch is fitted as [`GmmOptions::fit`] would (the configured start,
    /// restarts and EM to convergence) unless explicit starting weights, means and
    /// covariances are given; its E-step statistics under those parameters then start
    /// the running statistics, and their M-step gives the model.
    ///
    /// ```
    /// use gaussmix::GaussianMixture;
    /// use ndarray::Array2;
    ///
    /// // Batches of a stream with two clusters, at 0 and 8.
    /// let batch = |b: usize| Array2::from_shape_fn((500, 1), |(i, _)| {
    ///     let u = ((i * 7919 + b * 104_729) % 1000) as f64 / 1000.0 - 0.5;
    ///     if i % 2 == 0 { u } else { 8.0 + u }
    /// });
    /// let mut model = GaussianMixture::params(2).seed(1).partial_fit(&batch(0))?;
    /// for b in 1..20 {
    ///     model.partial_fit(&batch(b))?; // returns the batch's mean log-likelihood
    /// }
    /// let pass = model.end_pass().expect("a pass was under way");
    /// assert_eq!(model.online_state().unwrap().batches(), 20);
    /// let mut centres = [model.means()[[0, 0]], model.means()[[1, 0]]];
    /// centres.sort_by(f64::total_cmp);
    /// assert!(centres[0].abs() < 0.05 && (centres[1] - 8.0).abs() < 0.05);
    /// assert_eq!(model.fit_record().unwrap().lower_bounds, vec![pass]);
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn partial_fit<X: AsData + ?Sized>(&self, batch: &X) -> Result<GaussianMixture> {
        self.validate()?;
        let data = batch.as_data()?;
        let given = self.start.weights.is_some()
            && self.start.means.is_some()
            && (self.start.covariances.is_some() || self.start.precisions.is_some());
        let (params, feature_names) = if given {
            if let Some(names) = &self.feature_names {
                crate::options::check_feature_names(names, Some(data.n_features()))?;
            }
            let (p, _) = crate::parallel::install(self.n_threads, || {
                crate::fit::init::initial_params(&data, self, 0)
            })??;
            (p, self.feature_names.clone())
        } else {
            let m = self.fit(data.as_ref())?;
            (m.params, m.feature_names)
        };
        let mut model = GaussianMixture {
            params,
            fit: Some(record_for(self)),
            feature_names,
            online: None,
        };
        model.partial_fit(data.as_ref())?;
        Ok(model)
    }
}

impl GaussianMixture {
    /// One batch of online (stepwise) EM: the batch's E-step statistics under the
    /// current parameters are blended into the running statistics with step
    /// `η = (t + 2)^(−κ)` (`t`: updates so far, `κ`:
    /// [`GmmOptions::step_exponent`]), and the parameters become their M-step. Returns
    /// the batch's mean log-likelihood under the parameters it was evaluated with.
    ///
    /// A model without running statistics (fitted by batch EM, or built from
    /// parameters) starts them from this batch, as a warm-up. Batches may carry sample
    /// weights and have any number of rows (each is weighed by its step, not its
    /// size). Deterministic: the same batches in the same order give the same model
    /// for any thread count. On an error the model is left as it was.
    pub fn partial_fit<X: AsData + ?Sized>(&mut self, batch: &X) -> Result<f64> {
        let data = batch.as_data()?;
        let (k, d, kind) = (
            self.n_components(),
            self.n_features(),
            self.covariance_type(),
        );
        if data.n_features() != d {
            return Err(GmmError::InvalidData(format!(
                "the batch has {} features but the model has {d}; give batches with the model's columns",
                data.n_features()
            )));
        }
        let opts = match &self.fit {
            Some(r) => r.options.clone(),
            None => {
                let mut o = GmmOptions::new(k);
                o.covariance_type = kind;
                o
            }
        };
        let rows = data.n_samples() as u64;
        // Averaging: the E-step runs under the running statistics' parameters.
        let driving = match self
            .online
            .as_ref()
            .and_then(|s| s.driving_params(kind, k, d, &opts))
        {
            Some(p) => Some(p?),
            None => None,
        };
        let st = batch_stats(&opts, &data, driving.as_ref().unwrap_or(&self.params))?;
        let l = st.mean_log_likelihood();
        let state = match &self.online {
            None => OnlineState::start(&st, self.params.means_flat(), opts.step_exponent, rows),
            Some(s) => {
                let mut s = s.clone();
                s.update(kind, &st, rows, opts.average_from);
                s
            }
        };
        let batch_no = state.batches;
        let params = state
            .m_step(kind, k, d, &opts)
            .map_err(|e| e.map_pd_context(|_| format!(" after online EM batch {batch_no}")))?;
        let record = self.fit.get_or_insert_with(|| record_for(&opts));
        if self.online.is_none() {
            // The record of a batch fit describes that fit, not the online one.
            *record = record_for(&opts);
        }
        refresh(record, &state, k, d);
        self.params = params;
        self.online = Some(state);
        Ok(l)
    }

    /// Ends the pass under way (a pass is whatever the caller feeds between two calls,
    /// usually the whole data once): its mean log-likelihood — each batch's evaluated
    /// under the parameters before its update, weighted by its rows' weight — is
    /// appended to the fit record's `lower_bounds` and returned, and the record's
    /// `warnings` are the batch fit's rules applied to the model's statistics (an empty
    /// or collapsed component, a constant feature, …; no convergence test). `None` when the model
    /// has no online state or no batch was seen since the last call.
    pub fn end_pass(&mut self) -> Option<f64> {
        let (k, d) = (self.n_components(), self.n_features());
        let state = self.online.as_mut()?;
        if state.pass.batches == 0 || state.pass.weight <= 0.0 {
            return None;
        }
        let l = state.pass.ll / state.pass.weight;
        let record = self.fit.get_or_insert_with(FitRecord::default);
        let mut opts = record.options.clone();
        opts.feature_names = self.feature_names.clone();
        let mut lower_bounds = record.lower_bounds.clone();
        lower_bounds.push(l);
        record.warnings = crate::fit::online::pass_warnings(
            state,
            &self.params,
            &opts,
            state.pass.rows,
            state.pass.weight,
            &lower_bounds,
        );
        record.lower_bounds.push(l);
        record.n_iter = record.lower_bounds.len();
        record.lower_bound = l;
        record.score = l;
        record.n_samples = usize::try_from(state.pass.rows).unwrap_or(usize::MAX);
        record.total_weight = state.pass.weight;
        state.pass = Default::default();
        refresh(record, state, k, d);
        Some(l)
    }

    /// Sets online EM's step exponent `κ` and Polyak–Ruppert averaging
    /// ([`GmmOptions::step_exponent`], [`GmmOptions::average_from`]) for the updates to
    /// come — for a model that did not start online (a batch fit, a model file) before
    /// its first [`partial_fit`](Self::partial_fit). Invalid values are refused by name.
    ///
    /// ```
    /// let x = ndarray::array![[0.0], [0.3], [5.0], [5.4], [0.1], [5.2]];
    /// let mut m = gaussmix::GaussianMixture::params(2).fit(&x)?.with_online_options(0.7, Some(5))?;
    /// m.partial_fit(&x)?;
    /// assert_eq!(m.online_state().unwrap().step_exponent(), 0.7);
    /// assert!(m.clone().with_online_options(0.3, None).is_err());
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn with_online_options(
        mut self,
        step_exponent: f64,
        average_from: Option<u64>,
    ) -> Result<Self> {
        let mut opts = match &self.fit {
            Some(r) => r.options.clone(),
            None => {
                let mut o = GmmOptions::new(self.n_components());
                o.covariance_type = self.covariance_type();
                o
            }
        };
        opts.step_exponent = step_exponent;
        opts.average_from = average_from;
        opts.validate()?;
        match &mut self.fit {
            Some(r) => r.options = opts,
            None => self.fit = Some(record_for(&opts)),
        }
        if let Some(s) = &mut self.online {
            s.step_exponent = step_exponent;
        }
        Ok(self)
    }

    /// Online EM's running state (`None` unless the model was made or continued by
    /// [`partial_fit`](Self::partial_fit)).
    pub fn online_state(&self) -> Option<&OnlineState> {
        self.online.as_ref()
    }

    /// The same model without online EM's running state (a later
    /// [`partial_fit`](Self::partial_fit) starts afresh from its parameters).
    pub fn without_online_state(mut self) -> Self {
        self.online = None;
        self
    }
}
