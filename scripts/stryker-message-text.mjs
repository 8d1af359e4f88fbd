// A Stryker ignorer (plugin kind "Ignore", Stryker >= 7): mutants that can only change the words a person reads,
// never a decision, are not mutated. Tests assert error codes, never texts (house rule), so every such mutant would
// survive and say nothing about the security behaviour. docs/security.md ("Mutation testing") lists the positions.
//
// A node is message text when it is
//   1. the value of an object property named message, context, help, hint, why or problem, or the plural of one
//      (`problems`: the words of a refusal or of an audit finding; `code`,
//      `field`, `reason`, `detail` and every other property carry behaviour or audit content and are mutated), or
//      describe (a grant part's rule in words, src/grants/grant.ts `GrantPart.describe`);
//   2. an argument passed to a parameter named message, context, help, hint or why of a function declared in the
//      same file or exported by a module of the project it imports with a relative path (`deny(code, message,
//      context, help)` of authorize/step.ts in authorize/rules/*, `fail(code, context)`, `refuse(...)`,
//      `outside(why, field)`), found through the call's binding, not by the callee's name, or a method of the
//      enclosing class called on `this` (`this.failed(code, context, ...)` in forward.ts);
//   3. the message argument of `new SomethingError(...)`, and what is pushed onto a list named as the plural of one of
//      those names (`problems.push(...)` of the audit verifier: that a problem is found is mutated, not its words);
//   4. the body of a function named describe* (the words of `ghostgate explain` and `token show`);
//   5. a local constant whose every use is one of the above (e.g. `const what = v.field ? ... : ''` in a message).
// Only those subtrees are skipped: a call inside them that decides something is mutated where it is declared.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from '@babel/parser';
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

export const TEXT_NAMES = new Set(['message', 'context', 'help', 'hint', 'why', 'problem']);
const REASON = 'message text: words a person reads, not a decision (scripts/stryker-message-text.mjs)';

function propertyName(node) {
  if (node.computed) return undefined;
  if (node.key.type === 'Identifier') return node.key.name;
  if (node.key.type === 'StringLiteral') return node.key.value;
  return undefined;
}

function paramName(param) {
  if (param.type === 'Identifier') return param.name;
  if (param.type === 'AssignmentPattern' && param.left.type === 'Identifier') return param.left.name;
  return undefined;
}

/**
 * The functions of `const f = (...) => ...` declarations, remembered when the declaration is entered. Stryker places
 * the mutants of a node when it leaves it: by the time a later call is visited, the declarator's `init` is no longer
 * the arrow function but Stryker's mutant switch around it (`stryMutAct(..) ? () => undefined : ...`), so the
 * function must be known from before.
 */
const declaredArrows = new WeakMap();

/** The function a callee identifier names, when it is declared in this file or imported from a module of the project. */
function declaredFunction(callPath) {
  const callee = callPath.node.callee;
  if (callee.type === 'MemberExpression' && callee.object.type === 'ThisExpression') return ownMethod(callPath, callee);
  if (callee.type !== 'Identifier') return undefined;
  const binding = callPath.scope.getBinding(callee.name);
  if (!binding) return undefined;
  const node = binding.path.node;
  if (node.type === 'FunctionDeclaration') return node;
  if (node.type === 'VariableDeclarator') return declaredArrows.get(node) ?? functionInit(node);
  if (node.type === 'ImportSpecifier' && binding.path.parent.type === 'ImportDeclaration') {
    const from = binding.path.parent.source.value;
    const importer = callPath.hub?.file?.opts?.filename;
    const name = node.imported.type === 'Identifier' ? node.imported.name : node.imported.value;
    if (from.startsWith('.') && importer) return exportedFunction(resolve(dirname(importer), from.replace(/\.js$/, '.ts')), name);
  }
  return undefined;
}

/** `this.name(...)`: the method of that name declared in the enclosing class (`this.failed(code, context, ...)` in forward.ts). */
function ownMethod(callPath, callee) {
  if (callee.computed || callee.property.type !== 'Identifier') return undefined;
  const cls = callPath.findParent((p) => p.isClassBody());
  return cls?.node.body.find((m) => m.type === 'ClassMethod' && m.key.type === 'Identifier' && m.key.name === callee.property.name);
}

/** Exported functions of a project module (`deny` of src/pipeline/authorize/step.ts for the rules beside it), by file. */
const modules = new Map();
function exportedFunction(file, name) {
  if (!modules.has(file)) {
    const found = new Map();
    try {
      const ast = parse(readFileSync(file, 'utf8'), { sourceType: 'module', plugins: ['typescript'] });
      for (const st of ast.program.body) {
        const d = st.type === 'ExportNamedDeclaration' ? st.declaration : undefined;
        if (d?.type === 'FunctionDeclaration' && d.id) found.set(d.id.name, d);
        if (d?.type === 'VariableDeclaration')
          for (const v of d.declarations) if (v.id.type === 'Identifier' && functionInit(v)) found.set(v.id.name, functionInit(v));
      }
    } catch {
      // Not a file this ignorer can read (a package, another language): its calls are mutated as they are.
    }
    modules.set(file, found);
  }
  return modules.get(file).get(name);
}

function functionInit(declarator) {
  const init = declarator.init;
  return init && /FunctionExpression$/.test(init.type) ? init : undefined;
}

/** A list named as the plural of a message name (`problems`) collects words: the audit verifier's findings. */
const isTextListName = (name) => typeof name === 'string' && name.endsWith('s') && TEXT_NAMES.has(name.slice(0, -1));

/** `problems.push(...)`: words pushed onto such a list. */
function isTextListPush(callee) {
  if (callee.type !== 'MemberExpression' || callee.computed || callee.property.type !== 'Identifier') return false;
  return callee.property.name === 'push' && callee.object.type === 'Identifier' && isTextListName(callee.object.name);
}

/** Whether this exact node sits in a message position (rules 1-3). */
function isTextPosition(path) {
  const parent = path.parentPath;
  if (!parent) return false;
  if (parent.node.type === 'ObjectProperty' && path.key === 'value') {
    const name = propertyName(parent.node);
    return TEXT_NAMES.has(name) || name === 'describe' || isTextListName(name);
  }
  if (path.listKey === 'arguments' && typeof path.key === 'number') {
    if (parent.node.type === 'NewExpression') {
      const callee = parent.node.callee;
      return callee.type === 'Identifier' && /Error$/.test(callee.name) && path.key === 0;
    }
    if (parent.node.type === 'CallExpression') {
      if (isTextListPush(parent.node.callee)) return true;
      const fn = declaredFunction(parent);
      const param = fn?.params[path.key];
      return param !== undefined && TEXT_NAMES.has(paramName(param));
    }
  }
  return false;
}

/** Whether the node, or an ancestor of it up to the enclosing statement, is in a message position. */
function withinTextPosition(path) {
  for (let p = path; p && !p.isStatement() && !p.isFunction(); p = p.parentPath) {
    if (isTextPosition(p)) return true;
  }
  return false;
}

function isDescribeFunction(path) {
  const node = path.node;
  if (node.type === 'FunctionDeclaration') return /^describe[A-Z]/.test(node.id?.name ?? '');
  return false;
}

/** Rule 5: `const x = <expr>` whose every reference is in a message position. */
function isTextOnlyConstant(path) {
  if (path.node.type !== 'VariableDeclarator' || path.node.id.type !== 'Identifier') return false;
  if (path.parentPath?.node.kind !== 'const') return false;
  const binding = path.scope.getBinding(path.node.id.name);
  if (!binding || binding.referencePaths.length === 0) return false;
  return binding.referencePaths.every(withinTextPosition);
}

export const messageTextIgnorer = {
  shouldIgnore(path) {
    if (path.node.type === 'VariableDeclarator') {
      const fn = functionInit(path.node);
      if (fn) declaredArrows.set(path.node, fn);
    }
    if (isTextPosition(path) || isDescribeFunction(path) || isTextOnlyConstant(path)) return REASON;
    return undefined;
  },
};

export const strykerPlugins = [declareValuePlugin(PluginKind.Ignore, 'message-text', messageTextIgnorer)];
