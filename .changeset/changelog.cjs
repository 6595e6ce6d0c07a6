// Changelog lines for `changeset version`: changesets' default format (one list item per
// changeset, then the updated dependencies), except that a dependency's first release
// (0.0.0 → 0.1.0) is no "update" of anything, so the 0.1.0 notes carry no such lines.
const getReleaseLine = async (changeset) => {
  const [firstLine, ...rest] = changeset.summary.split('\n').map((line) => line.trimEnd());
  const commit = changeset.commit ? `${changeset.commit.slice(0, 7)}: ` : '';
  return [`- ${commit}${firstLine}`, ...rest.map((line) => `  ${line}`)].join('\n');
};

const getDependencyReleaseLine = async (_changesets, dependenciesUpdated) => {
  const updated = dependenciesUpdated.filter((dependency) => dependency.oldVersion !== '0.0.0');
  if (updated.length === 0) return '';
  return ['- Updated dependencies', ...updated.map((d) => `  - ${d.name}@${d.newVersion}`)].join('\n');
};

module.exports = { default: { getReleaseLine, getDependencyReleaseLine } };
