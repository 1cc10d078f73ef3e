// Package slurmtest finds the Slurm cluster that tests submit jobs to.
//
// The cluster is a real one: Debian's slurm-wlm and munge, run as a
// single node by scripts/slurm-cluster.sh with everything under a build
// directory (.ci/run starts it under build/slurm before "make test" and
// stops it afterwards):
//
//	apt-get install slurm-wlm munge
//	scripts/slurm-cluster.sh start build/slurm
//	go test ./internal/slurmtest
//	scripts/slurm-cluster.sh stop build/slurm
//
// A test asks for it with Cluster, which returns the environment to run
// sbatch, squeue and sinfo (or a command that runs them) with:
//
//	env := slurmtest.Cluster(t)
//	cmd := exec.Command("sbatch", "--parsable", "--wrap", "true")
//	cmd.Env = env
//
// The configuration is, in order: the file named by ALIGNLAB_SLURM_CONF,
// the one named by SLURM_CONF, or build/slurm/etc/slurm.conf under the
// module root. Where there is none, or Slurm is not installed, or its
// controller does not answer, Cluster skips the test saying how to get a
// cluster — except under CI=true, where a missing cluster fails the test,
// so that a CI run can never pass by skipping what it was meant to check.
package slurmtest
