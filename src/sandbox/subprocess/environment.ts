/**
 * The environment a subprocess script gets: nothing from the runner but what is needed to
 * find and run Python. No tokens, keys or credentials pass through.
 */
const PASS_THROUGH = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYENV_ROOT", "PYENV_VERSION", "VIRTUAL_ENV", "CONDA_PREFIX", "SYSTEMROOT"];

export const SCRIPT_ENV_DEFAULTS: Record<string, string> = {
  PYTHONDONTWRITEBYTECODE: "1",
  PYTHONHASHSEED: "0",
  MPLBACKEND: "Agg",
};

export function minimalEnvironment(parent: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASS_THROUGH) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  env.LANG ??= "C.UTF-8";
  return { ...env, ...SCRIPT_ENV_DEFAULTS };
}
